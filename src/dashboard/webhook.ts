import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../index.js'
import type { Alert } from './alerts.js'

export interface WebhookOptions {
  url: string
  /** Time allowed for one POST. @default 5000 */
  timeoutMs?: number
  /** Attempts after the first, each after twice the previous wait. @default 3 */
  retries?: number
  /** Wait before the first retry. @default 1000 */
  backoffMs?: number
}

/** Deliveries waiting beyond this are dropped (oldest first): a dead receiver must not grow memory. */
const MAX_QUEUED = 100

/**
 * Posts alerts as JSON, one at a time in order, off the request path: send()
 * returns at once. Each POST is bounded by a timeout and retried with backoff;
 * an alert that cannot be delivered is logged once and dropped.
 */
export class Webhook {
  readonly #url: string
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #backoffMs: number
  readonly #queue: Alert[] = []
  readonly #logger: Logger
  readonly #stop = new AbortController()
  #running: Promise<void> | undefined

  constructor(options: WebhookOptions, logger: Logger) {
    this.#url = options.url
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#retries = options.retries ?? 3
    this.#backoffMs = options.backoffMs ?? 1000
    this.#logger = logger
  }

  send(alert: Alert): void {
    if (this.#stop.signal.aborted) return
    this.#queue.push(alert)
    if (this.#queue.length > MAX_QUEUED) this.#queue.shift()
    this.#running ??= this.#drain().finally(() => (this.#running = undefined))
  }

  /** Resolves once every queued alert was delivered or given up on (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  /** Stops retrying: queued alerts are dropped. */
  close(): void {
    this.#stop.abort()
    this.#queue.length = 0
  }

  async #drain(): Promise<void> {
    for (let alert = this.#queue.shift(); alert; alert = this.#queue.shift()) await this.#deliver(alert)
  }

  async #deliver(alert: Alert): Promise<void> {
    const body = JSON.stringify({ alert: alert.name, ...alert })
    let lastError = ''
    for (let attempt = 0; attempt <= this.#retries && !this.#stop.signal.aborted; attempt++) {
      if (attempt > 0) await sleep(this.#backoffMs * 2 ** (attempt - 1), undefined, { signal: this.#stop.signal }).catch(() => {})
      try {
        const response = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), this.#stop.signal]),
        })
        await response.body?.cancel()
        if (response.ok) return
        lastError = `HTTP ${response.status}`
      } catch (error) {
        lastError = (error as Error).message
      }
    }
    this.#logger.warn({ event: 'alert_webhook_failed', alert: alert.name, state: alert.state, error: lastError }, `alert webhook failed: ${lastError}`)
  }
}
