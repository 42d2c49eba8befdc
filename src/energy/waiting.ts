/**
 * Who still waits for each endpoint's answer. The cache's single flight hands one computation to
 * many requests, so a computation may be dropped only once every client that asked for that
 * endpoint has gone away (issue 23, finding 1).
 */
import type { ServerResponse } from 'node:http'
import type { Context, Middleware, Next } from 'koa'

export class Waiting {
  #count = new Map<string, number>()
  #gone = new Map<string, AbortController>()
  /** Responses that belong to a client; the cache's background refreshes write elsewhere. */
  #clients = new WeakSet<ServerResponse>()

  /** Counts a request from its arrival until its connection is done with it. Put it before the cache. */
  middleware(endpoint: string): Middleware {
    const arrive = (res: ServerResponse): void => this.#arrive(endpoint, res)
    return async function countWaiting(ctx: Context, next: Next): Promise<void> {
      arrive(ctx.res)
      await next()
    }
  }

  /**
   * For a computation started on behalf of `ctx`: aborted once nobody waits for `endpoint` any more;
   * undefined for work nobody waits for by design (the cache refreshing or warming in the background).
   */
  signal(endpoint: string, ctx: Context): AbortSignal | undefined {
    if (!this.#clients.has(ctx.res)) return undefined
    if ((this.#count.get(endpoint) ?? 0) === 0) return AbortSignal.abort()
    return this.#controller(endpoint).signal
  }

  #arrive(endpoint: string, res: ServerResponse): void {
    this.#clients.add(res)
    this.#count.set(endpoint, (this.#count.get(endpoint) ?? 0) + 1)
    res.once('close', () => {
      const left = (this.#count.get(endpoint) ?? 1) - 1
      this.#count.set(endpoint, left)
      if (left === 0 && !res.writableFinished) {
        this.#gone.get(endpoint)?.abort()
        this.#gone.delete(endpoint)
      }
    })
  }

  #controller(endpoint: string): AbortController {
    let controller = this.#gone.get(endpoint)
    if (!controller) {
      controller = new AbortController()
      this.#gone.set(endpoint, controller)
    }
    return controller
  }
}
