import type { ServerResponse } from 'node:http'
import type { Context } from 'koa'

/** A viewer whose connection has this much unsent is skipped until it drains: slow readers cost bounded memory. */
const MAX_BUFFERED = 256 * 1024

/**
 * Server-sent events to every open viewer from one timer. The timer runs only
 * while a viewer is connected: it starts with the first and stops when the
 * last one goes, so a closed tab costs nothing.
 */
export class EventStreams {
  readonly #viewers = new Set<ServerResponse>()
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

  /**
   * Answers `ctx` with a stream that receives every frame until the client goes away. Written to
   * the response directly (`ctx.respond = false`, Koa's documented escape hatch): a stream body
   * would make every viewer who leaves an ERR_STREAM_PREMATURE_CLOSE on the app's 'error' event.
   */
  open(ctx: Context): void {
    const res = ctx.res
    ctx.status = 200 // for middleware that reads it afterwards (request metrics)
    ctx.respond = false
    ctx.req.socket.setNoDelay(true)
    ctx.req.socket.setTimeout(0)
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    })
    this.#viewers.add(res)
    res.once('close', () => this.#leave(res))
    // Clients reconnect after this many ms if the stream breaks.
    res.write(`retry: ${Math.max(1000, this.intervalMs)}\n\n`)
    void this.#send([res])
    this.#timer ??= setInterval(() => void this.#send([...this.#viewers]), this.intervalMs).unref()
  }

  /** Ends every stream (server shutdown: an open stream would hold the drain forever). */
  close(): void {
    for (const res of this.#viewers) res.end()
    this.#viewers.clear()
    this.#stop()
  }

  /** Sends a named event to every viewer now (an alert firing). */
  broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of this.#viewers) if (res.writableLength < MAX_BUFFERED) res.write(frame)
  }

  #leave(res: ServerResponse): void {
    if (!this.#viewers.delete(res)) return
    if (this.#viewers.size === 0) this.#stop()
  }

  #stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Frames are built at most once a second whatever the number of viewers (Snapshots shares them). */
  async #send(targets: ServerResponse[]): Promise<void> {
    try {
      const frame = `data: ${await this.produce()}\n\n`
      for (const res of targets) if (this.#viewers.has(res) && res.writableLength < MAX_BUFFERED) res.write(frame)
    } catch (error) {
      this.onError(error)
    }
  }
}
