import { PassThrough } from 'node:stream'
import type { Context } from 'koa'

/** A viewer whose connection has this much unsent is skipped until it drains: slow readers cost bounded memory. */
const MAX_BUFFERED = 256 * 1024

/**
 * Server-sent events to every open viewer from one timer. The timer runs only
 * while a viewer is connected: it starts with the first and stops when the
 * last one goes, so a closed tab costs nothing.
 */
export class EventStreams {
  readonly #viewers = new Set<PassThrough>()
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly produce: () => Promise<string>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  get viewers(): number {
    return this.#viewers.size
  }

  get running(): boolean {
    return this.#timer !== undefined
  }

  /** Answers `ctx` with a stream that receives every frame until the client goes away. */
  open(ctx: Context): void {
    const out = new PassThrough()
    ctx.req.socket.setNoDelay(true)
    ctx.req.socket.setTimeout(0)
    ctx.set('Content-Type', 'text/event-stream; charset=utf-8')
    ctx.set('Cache-Control', 'no-store')
    ctx.set('X-Accel-Buffering', 'no')
    ctx.status = 200
    ctx.body = out
    this.#viewers.add(out)
    const leave = (): void => this.#leave(out)
    ctx.req.once('close', leave)
    ctx.res.once('close', leave)
    // Clients reconnect after this many ms if the stream breaks.
    out.write(`retry: ${Math.max(1000, this.intervalMs)}\n\n`)
    void this.#send([out])
    this.#timer ??= setInterval(() => void this.#send([...this.#viewers]), this.intervalMs).unref()
  }

  /** Ends every stream (server shutdown: an open stream would hold the drain forever). */
  close(): void {
    for (const out of this.#viewers) out.end()
    this.#viewers.clear()
    this.#stop()
  }

  /** Sends a named event to every viewer now (an alert firing). */
  broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const out of this.#viewers) if (out.writableLength < MAX_BUFFERED) out.write(frame)
  }

  #leave(out: PassThrough): void {
    if (!this.#viewers.delete(out)) return
    out.end()
    if (this.#viewers.size === 0) this.#stop()
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Frames are built at most once a second whatever the number of viewers (Snapshots shares them). */
  async #send(targets: PassThrough[]): Promise<void> {
    try {
      const frame = `data: ${await this.produce()}\n\n`
      for (const out of targets) if (this.#viewers.has(out) && out.writableLength < MAX_BUFFERED) out.write(frame)
    } catch (error) {
      this.onError(error)
    }
  }
}
