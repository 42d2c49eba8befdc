import { EventEmitter } from 'node:events'
import type { Context, Middleware, Next } from 'koa'
import { engineOf } from '../cache/engine.js'
import { OptionError, type CircuitState, type Logger, type ResponseCache } from '../index.js'
import { AlertEngine, type Alert } from './alerts.js'
import { assetFor, pageFor } from './assets.js'
import { Feed, type FeedEntry } from './feed.js'
import { History, type HistoryOptions } from './history.js'
import { Recorder } from './recorder.js'
import { resolveRules, type AlertRuleOptions } from './rules.js'
import { Snapshots, type Snapshot } from './snapshot.js'
import { EventStreams } from './stream.js'
import { Webhook, type WebhookOptions } from './webhook.js'

export interface DashboardOptions {
  /** Where the page and its endpoints are served. @default '/dashboard' */
  path?: string
  /** ms since the epoch, for timestamps and alert windows. @default the cache's clock */
  clock?: () => number
  /** Live stream period. @default 1000 */
  streamMs?: number
  /** How often the alert rules run (a health() read each time). @default 5000 */
  evaluateMs?: number
  /** Rule thresholds, `false` for none. @default DEFAULT_RULES */
  alerts?: AlertRuleOptions | false
  /** Where firing and resolving alerts are POSTed as JSON. @default none */
  webhook?: WebhookOptions
  /** Per-minute history kept (and persisted in the cache's store). @default on */
  history?: HistoryOptions | false
  /** @default the cache's logger */
  logger?: Logger
}

/** What the JSON snapshot and each stream frame carry. */
export interface DashboardView extends Snapshot {
  alerts: Alert[]
  feed: FeedEntry[]
}

/**
 * Live figures, alerts and history for one cache, built only from its public
 * events and health(). Mount `middleware` at `path`; it answers only there.
 * Emits 'alert' with each Alert that fires or resolves.
 */
export class Dashboard extends EventEmitter {
  readonly path: string
  readonly middleware: Middleware
  readonly #cache: ResponseCache
  readonly #clock: () => number
  readonly #logger: Logger
  readonly #recorder: Recorder
  readonly #snapshots: Snapshots
  readonly #feed = new Feed()
  readonly #engine: AlertEngine
  readonly #streams: EventStreams
  readonly #webhook: Webhook | undefined
  readonly #history: History | undefined
  readonly #timer: NodeJS.Timeout | undefined
  #evaluating: Promise<Alert[]> | undefined
  #degraded = false

  constructor(cache: ResponseCache, options: DashboardOptions = {}) {
    super()
    this.path = resolvePath(options.path)
    const streamMs = positive('streamMs', options.streamMs, 1000)
    const evaluateMs = positive('evaluateMs', options.evaluateMs, 5000)
    this.#cache = cache
    const engine = engineOf(cache)
    this.#clock = options.clock ?? (() => engine.now())
    this.#logger = options.logger ?? engine.logger
    this.#engine = new AlertEngine(resolveRules(options.alerts), this.#clock())
    this.#webhook = options.webhook ? new Webhook(checkWebhook(options.webhook), this.#logger) : undefined
    this.#recorder = new Recorder(cache, this.#clock)
    this.#snapshots = new Snapshots(cache, this.#recorder, this.#clock)
    this.#streams = new EventStreams(async () => JSON.stringify(await this.view()), streamMs, (error) => this.#logError(error))
    this.#history = options.history === false ? undefined : new History(engine, this.#clock, this.#logger, options.history)
    cache.on('circuit', this.#onCircuit)
    this.#timer = setInterval(() => void this.evaluate().catch((error: unknown) => this.#logError(error)), evaluateMs).unref()
    this.middleware = this.#serve.bind(this)
  }

  /** Viewers connected to the live stream now. */
  get viewers(): number {
    return this.#streams.viewers
  }

  /** The live stream's timer runs (only while someone watches). */
  get streaming(): boolean {
    return this.#streams.running
  }

  async view(): Promise<DashboardView> {
    const snapshot = await this.#snapshots.latest()
    return { ...snapshot, alerts: this.#engine.firing(), feed: this.#feed.recent() }
  }

  /** Runs the alert rules now (the timer does every `evaluateMs`); returns the alerts that changed. */
  evaluate(): Promise<Alert[]> {
    this.#evaluating ??= (async () => {
      try {
        const snapshot = await this.#snapshots.fresh()
        const changes = this.#engine.evaluate(snapshot)
        for (const alert of changes) this.#announce(alert)
        await this.#history?.observe(snapshot)
        return changes
      } finally {
        this.#evaluating = undefined
      }
    })()
    return this.#evaluating
  }

  /**
   * Adds a line to the page's feed, for what the cache's events do not say (an invalidation by an
   * admin route, a deploy).
   */
  note(message: string): void {
    this.#feed.add({ at: this.#clock(), kind: 'note', message })
  }

  /** Resolves when queued webhook deliveries are done (tests, shutdown). */
  async settled(): Promise<void> {
    await this.#webhook?.idle()
  }

  /** Stops timers, ends open streams and webhook retries, and stops listening to the cache. */
  close(): void {
    clearInterval(this.#timer)
    this.#streams.close()
    this.#webhook?.close()
    this.#recorder.detach()
    this.#cache.off('circuit', this.#onCircuit)
  }

  #announce(alert: Alert): void {
    const fields = { event: alert.state === 'firing' ? 'alert_firing' : 'alert_resolved', alert: alert.name, value: alert.value, threshold: alert.threshold }
    if (alert.state === 'firing') this.#logger.warn(fields, `alert ${alert.name}: ${alert.message}`)
    else (this.#logger.info ?? this.#logger.warn).call(this.#logger, fields, `alert ${alert.name} ${alert.message}`)
    this.#feed.add({ at: alert.at, kind: alert.state === 'firing' ? 'alert' : 'resolved', message: `${alert.name}: ${alert.message}` })
    this.#streams.broadcast('alert', alert)
    this.#webhook?.send(alert)
    this.emit('alert', alert)
  }

  /** Feed lines for going down and coming back only: a probe flips open/half-open every probeInterval. */
  readonly #onCircuit = (state: CircuitState): void => {
    const degraded = state !== 'closed'
    this.#engine.circuit(degraded, this.#clock())
    if (degraded === this.#degraded) return
    this.#degraded = degraded
    const message = degraded ? 'cache store failing: circuit open, serving from the fallback' : 'cache store answers again: circuit closed'
    this.#feed.add({ at: this.#clock(), kind: 'circuit', message })
  }

  #logError(error: unknown): void {
    (this.#logger.error ?? this.#logger.warn).call(this.#logger, { event: 'dashboard_error', err: error }, 'dashboard: could not read the cache')
  }

  async #serve(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || !ctx.path.startsWith(this.path)) return next()
    const rest = ctx.path.slice(this.path.length)
    ctx.set('Cache-Control', 'no-store')
    if (rest === '' || rest === '/') {
      const page = pageFor(this.path)
      ctx.type = page.type
      ctx.body = page.body
    } else if (rest === '/snapshot') {
      ctx.body = await this.view()
    } else if (rest === '/events' && ctx.method === 'GET') {
      this.#streams.open(ctx)
    } else if (rest === '/history') {
      ctx.body = { samples: this.#history?.samples() ?? [] }
    } else if (rest.startsWith('/assets/') && assetFor(rest.slice('/assets/'.length))) {
      const asset = assetFor(rest.slice('/assets/'.length))!
      ctx.set('Cache-Control', 'public, max-age=3600')
      ctx.type = asset.type
      ctx.body = asset.body
    } else {
      return next()
    }
  }
}

/** Builds the dashboard for `cache`; every option is checked here, once. */
export function createDashboard(cache: ResponseCache, options: DashboardOptions = {}): Dashboard {
  return new Dashboard(cache, options)
}

function resolvePath(path: string | undefined): string {
  if (path === undefined) return '/dashboard'
  if (typeof path !== 'string' || !/^\/[\w\-/.]*[^/]$/.test(path)) throw new OptionError('path', 'a path starting with / and not ending with /', path)
  return path
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 10 || value > 3_600_000) throw new OptionError(name, 'an integer from 10 to 3600000 (ms)', value)
  return value
}

function checkWebhook(webhook: WebhookOptions): WebhookOptions {
  let url: URL | undefined
  try {
    url = new URL(webhook.url)
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new OptionError('webhook.url', 'an http or https URL', webhook.url)
  for (const field of ['timeoutMs', 'retries', 'backoffMs'] as const) {
    const value = webhook[field]
    if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 600_000)) throw new OptionError(`webhook.${field}`, 'an integer from 0 to 600000', value)
  }
  return webhook
}
