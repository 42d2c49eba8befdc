import type { Cluster, Redis } from 'ioredis'
import type { CacheError } from './errors.js'
import { mastersOf } from './redis-nodes.js'
import type { ServerRole } from './redis-role.js'
import { absorbLaterSocketErrors, waitForReady } from './redis-wire.js'
import { asStoreError } from './store-errors.js'

export interface ConnectionOptions {
  /** A command's budget: a command waits at most half of it for a connection under way. */
  operationTimeout: number
  connectTimeout: number
  /** Reports a client error to the store's listeners. */
  emitError(error: unknown): void
}

/**
 * The state of RedisStore's connection: whether it was ever ready, the first
 * readiness (with the role known), a reconnection under way, and the client's
 * last error (a refused password, a certificate), which says why commands fail.
 */
export class RedisConnection {
  readonly #client: Redis | Cluster
  readonly #cluster: boolean
  readonly #role: ServerRole
  readonly #operationTimeout: number
  #everReady = false
  readonly #firstReady: Promise<boolean>
  #settling: Promise<unknown> | undefined
  /** Shared by the commands that arrive while a reconnection is under way. */
  #reconnecting: Promise<unknown> | undefined
  #lastError: CacheError | undefined
  /** The server refused AUTH on the current connection (see below). */
  #authRefused = false

  constructor(client: Redis | Cluster, cluster: boolean, role: ServerRole, options: ConnectionOptions) {
    this.#client = client
    this.#cluster = cluster
    this.#role = role
    this.#operationTimeout = options.operationTimeout
    client.on('error', (error: unknown) => {
      absorbLaterSocketErrors(client)
      this.#lastError = asStoreError(error, 'connection')
      if (this.#lastError.code === 'E_STORE_AUTH') this.#authRefused = true
      options.emitError(error)
    })
    // Without CLIENT SETINFO (disableClientInfo, redis-config.ts) ioredis's ready check (INFO) is
    // answered before it handles a refused AUTH: where the default user needs no password it emits
    // 'ready' as that user, just before it drops the connection. Checked against ioredis 5.9.2.
    client.on('connect', () => (this.#authRefused = false))
    const onReady = (): void => {
      if (this.#authRefused) return
      this.#everReady = true
      this.#lastError = undefined
      this.#role.connected()
      this.#settling = this.#cluster ? this.#connectMasters() : this.#role.check()
    }
    client.on('ready', onReady)
    // A client handed in already connected never emits 'ready' again.
    if (client.status === 'ready') onReady()
    // Ready means the role is known too, so a replica skips even the very first write.
    this.#firstReady = waitForReady(client, options.connectTimeout).then(async (ok) => {
      if (ok) await this.#settling
      return ok && !this.#authRefused
    })
  }

  /** Resolves true once connected, or false when connectTimeout passed first. Never rejects. */
  ready(): Promise<boolean> {
    return this.#firstReady
  }

  get lastError(): CacheError | undefined {
    return this.#lastError
  }

  /**
   * While a connection is under way (the first one, or a reconnection: after Sentinel's
   * +switch-master it takes a few milliseconds), a command waits for it instead of failing at once,
   * but no longer than half an operation's budget (see RedisStore.settlesWithinMs): a switch of
   * primary must not open the cache's circuit and lose the cross-instance lock. Callers check
   * `client.status` inline first, so a connected store pays no extra await.
   */
  connecting(): Promise<unknown> {
    const { status } = this.#client
    if (status === 'end' || status === 'close') return Promise.resolve()
    const waitMs = this.#operationTimeout / 2
    if (this.#everReady) {
      this.#reconnecting ??= waitForReady(this.#client, waitMs).finally(() => (this.#reconnecting = undefined))
      return this.#reconnecting
    }
    let timer: NodeJS.Timeout | undefined
    const budget = new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))
    return Promise.race([this.#firstReady, budget]).finally(() => clearTimeout(timer))
  }

  /**
   * A Cluster connects to each master lazily, on the first command for one of its slots; doing
   * it up front keeps that connect out of the first requests' operation timeout.
   */
  async #connectMasters(): Promise<void> {
    await Promise.all(mastersOf(this.#client).map((node) => node.ping().catch(() => undefined)))
  }
}
