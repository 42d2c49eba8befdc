import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { Cluster, type Redis } from 'ioredis'
import clusterKeySlot from 'cluster-key-slot'
import { consoleLogger, type Logger, type PubSub, type StoreExtras, type StoreInfo } from './contract.js'
import { RedisPubSub } from './redis-pubsub.js'
import { RELEASE_LOCK, fromRedis, hasTtl, isReadOnlyError, parseInfo, scanBatches, toRedis, waitForReady } from './redis-wire.js'
import { buildClient, describeTarget, redisOptionsFromEnv, type RedisStoreOptions } from './redis-config.js'
import { nonNegative, positive } from '../src/cache/options.js'
import type { Env } from '../src/cache/env.js'

export { redisConfigured, redisOptionsFromEnv, type RedisStoreOptions } from './redis-config.js'

type Role = 'master' | 'replica' | 'cluster'

/**
 * Keyv storage adapter on ioredis. It fails fast (per-command timeout, no
 * offline queue) and throws: the failure policy (circuit breaker, fallback,
 * logging per state change) belongs to the cache's ResilientStore, not here.
 * It does own read-only handling, because only it can see replication roles.
 */
export class RedisStore extends EventEmitter implements StoreExtras {
  readonly opts: { dialect: 'redis'; url: string; operationTimeout: number }
  namespace?: string | undefined
  readonly client: Redis | Cluster
  readonly cluster: boolean
  /** Each command settles within operationTimeout on its own (command timeout, no offline queue). */
  get settlesWithinMs(): number {
    return this.opts.operationTimeout
  }
  #forcedReadOnly: boolean
  #role: Role = 'master'
  #warnedReadOnly = false
  #everReady = false
  #firstReady: Promise<boolean>
  #settling: Promise<unknown> | undefined
  #roleTimer: NodeJS.Timeout | undefined
  #scanCount: number
  #logger: Logger

  constructor(options: RedisStoreOptions = {}) {
    super()
    const operationTimeout = positive(options.operationTimeout ?? 100, 'RedisStore.operationTimeout')
    const connectTimeout = positive(options.connectTimeout ?? 2000, 'RedisStore.connectTimeout')
    const roleCheckInterval = nonNegative(options.roleCheckInterval ?? 15_000, 'RedisStore.roleCheckInterval')
    this.#scanCount = positive(options.scanCount ?? 500, 'RedisStore.scanCount')
    this.#logger = options.logger ?? consoleLogger
    this.#forcedReadOnly = options.readOnly === true
    this.client = options.client ?? buildClient(options, operationTimeout, connectTimeout)
    this.cluster = this.client instanceof Cluster
    if (this.cluster) this.#role = 'cluster'
    this.opts = { dialect: 'redis', url: describeTarget(options), operationTimeout }
    this.client.on('error', (error: unknown) => this.#emitError(error))
    const onReady = (): void => {
      this.#everReady = true
      this.#settling = this.cluster ? this.#connectMasters() : this.checkRole()
    }
    this.client.on('ready', onReady)
    // A client handed in already connected never emits 'ready' again.
    if (this.client.status === 'ready') onReady()
    // Ready means the role is known too, so a replica skips even the very first write.
    this.#firstReady = waitForReady(this.client, connectTimeout).then(async (ok) => {
      if (ok) await this.#settling
      return ok
    })
    if (roleCheckInterval > 0 && !this.cluster) {
      this.#roleTimer = setInterval(() => void this.checkRole(), roleCheckInterval)
      this.#roleTimer.unref()
    }
  }

  /** Builds a store from REDIS_* variables; throws ConfigError naming a malformed one. */
  static fromEnv(env: Env = process.env, overrides: RedisStoreOptions = {}): RedisStore {
    return new RedisStore({ ...redisOptionsFromEnv(env), ...overrides })
  }

  /** Resolves true once connected, or false when connectTimeout passed first. Never rejects. */
  ready(): Promise<boolean> {
    return this.#firstReady
  }

  get readOnly(): boolean {
    return this.#forcedReadOnly || this.#role === 'replica'
  }

  get role(): Role {
    return this.#role
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (!this.#everReady) await this.#connecting()
    return fromRedis(await this.client.getBuffer(key)) as T | undefined
  }

  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    if (keys.length === 0) return []
    if (!this.#everReady) await this.#connecting()
    if (this.cluster && clusterKeySlot.generateMulti(keys) === -1) {
      return Promise.all(keys.map((key) => this.get<T>(key)))
    }
    const values = await this.client.mgetBuffer(...keys)
    return values.map((value) => fromRedis(value) as T | undefined)
  }

  /** Returns false, writing nothing, while read-only. TTL in ms. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    if (!(await this.#writable())) return this.#skipWrite()
    try {
      const payload = toRedis(value)
      if (hasTtl(ttl)) await this.client.set(key, payload, 'PX', Math.ceil(ttl))
      else await this.client.set(key, payload)
      return true
    } catch (error) {
      if (!this.#demoted(error)) throw error
      return this.#skipWrite()
    }
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await Promise.all(entries.map(({ key, value, ttl }) => this.set(key, value, ttl)))
  }

  async has(key: string): Promise<boolean> {
    if (!this.#everReady) await this.#connecting()
    return (await this.client.exists(key)) === 1
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.has(key)))
  }

  async delete(key: string): Promise<boolean> {
    if (!(await this.#writable())) return false
    try {
      return (await this.client.unlink(key)) > 0
    } catch (error) {
      if (!this.#demoted(error)) throw error
      return false
    }
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    if (keys.length === 0 || !(await this.#writable())) return false
    if (this.cluster && clusterKeySlot.generateMulti(keys) === -1) {
      const results = await Promise.all(keys.map((key) => this.delete(key)))
      return results.includes(true)
    }
    try {
      return (await this.client.unlink(...keys)) > 0
    } catch (error) {
      if (!this.#demoted(error)) throw error
      return false
    }
  }

  async acquireLock(key: string, ttlMs: number): Promise<string | false | undefined> {
    if (this.readOnly) return undefined
    if (!this.#everReady) await this.#connecting()
    const token = randomUUID()
    try {
      return (await this.client.set(key, token, 'PX', Math.ceil(ttlMs), 'NX')) === 'OK' ? token : false
    } catch (error) {
      if (isReadOnlyError(error)) return undefined
      throw error
    }
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.readOnly) return
    if (!this.#everReady) await this.#connecting()
    await this.client.eval(RELEASE_LOCK, 1, key, token)
  }

  /** Clears the namespace Keyv set (`${namespace}:*`), or the whole database without one; never KEYS. */
  async clear(): Promise<void> {
    await this.deletePrefix(this.namespace === undefined ? '' : `${this.namespace}:`)
  }

  /** SCAN + UNLINK in batches on every master; returns how many keys went. */
  async deletePrefix(prefix: string): Promise<number> {
    if (!(await this.#writable())) return 0
    try {
      return await this.#unlinkPrefix(prefix)
    } catch (error) {
      if (!this.#demoted(error)) throw error
      return 0
    }
  }

  async #unlinkPrefix(prefix: string): Promise<number> {
    let removed = 0
    for (const node of this.#masters()) {
      for await (const keys of scanBatches(node, prefix, this.#scanCount)) {
        // One UNLINK per key on a Cluster: a multi-key UNLINK across slots is refused.
        if (this.cluster) {
          const pipeline = node.pipeline()
          for (const key of keys) pipeline.unlink(key)
          const results = (await pipeline.exec()) ?? []
          for (const [error, count] of results) {
            if (error) throw error
            removed += Number(count)
          }
        } else {
          removed += await node.unlink(...keys)
        }
      }
    }
    return removed
  }

  async countPrefix(prefix: string): Promise<number> {
    if (!this.#everReady) await this.#connecting()
    let count = 0
    for (const node of this.#masters()) {
      for await (const keys of scanBatches(node, prefix, this.#scanCount)) count += keys.length
    }
    return count
  }

  /** Yields [key, value] under `${namespace}:` (every key without one) by SCAN on every master; never KEYS. */
  async *iterator<T>(namespace?: string): AsyncGenerator<[string, T], void> {
    if (!this.#everReady) await this.#connecting()
    const prefix = namespace === undefined ? '' : `${namespace}:`
    for (const node of this.#masters()) {
      for await (const keys of scanBatches(node, prefix, this.#scanCount)) {
        const values = await this.getMany<T>(keys)
        for (const [i, key] of keys.entries()) {
          const value = values[i]
          // expired or deleted between SCAN and MGET
          if (value !== undefined) yield [key, value]
        }
      }
    }
  }

  async info(): Promise<StoreInfo> {
    if (!this.#everReady) await this.#connecting()
    let keys = 0
    let used = 0
    let max = 0
    let policy = 'unknown'
    for (const node of this.#masters()) {
      const [size, memory] = await Promise.all([node.dbsize(), node.info('memory')])
      const fields = parseInfo(memory)
      keys += size
      used += Number(fields.get('used_memory') ?? 0)
      max += Number(fields.get('maxmemory') ?? 0)
      policy = fields.get('maxmemory_policy') ?? policy
    }
    return { backend: 'redis', role: this.#role, readOnly: this.readOnly, keys, memory: { used, max, policy } }
  }

  /**
   * Asks the server for its replication role. Runs at connect, after a
   * READONLY error and periodically, so a promoted replica starts writing
   * again and a demoted primary stops. Errors are ignored: an unreachable
   * server keeps its last known role.
   */
  async checkRole(): Promise<Role> {
    if (this.cluster) return this.#role
    try {
      const fields = parseInfo(await (this.client as Redis).info('replication'))
      const role = fields.get('role')
      this.#setRole(role === 'slave' || role === 'replica' ? 'replica' : 'master')
    } catch {
      // keep the last known role
    }
    return this.#role
  }

  /** PUBLISH on this store's connection, SUBSCRIBE on a connection of its own (redis-pubsub.ts). */
  pubsub(): PubSub {
    return new RedisPubSub(this.client)
  }

  async disconnect(): Promise<void> {
    if (this.#roleTimer) clearInterval(this.#roleTimer)
    try {
      await this.client.quit()
    } catch {
      this.client.disconnect()
    }
  }

  #setRole(role: Role): void {
    if (role === this.#role) return
    const wasReadOnly = this.readOnly
    this.#role = role
    if (!wasReadOnly && this.readOnly) this.#warnedReadOnly = false
    this.emit('role', role)
  }

  #skipWrite(): boolean {
    if (!this.#warnedReadOnly) {
      this.#warnedReadOnly = true
      this.#logger.warn({ event: 'redis_read_only', role: this.#role }, 'Redis set skipped (read-only)')
    }
    return false
  }

  /** Whether a write may go out; before the first connection it waits (bounded) to learn the role. */
  async #writable(): Promise<boolean> {
    if (this.#forcedReadOnly) return false
    if (!this.#everReady) await this.#connecting()
    return !this.readOnly
  }

  /** True for a READONLY reply: the server became a replica behind our back, so stop writing. */
  #demoted(error: unknown): boolean {
    if (!isReadOnlyError(error)) return false
    this.#setRole('replica')
    void this.checkRole()
    return true
  }

  /**
   * Until the first connection, a command waits for it instead of failing at
   * once, but no longer than one operation's budget: every operation settles
   * within operationTimeout (see settlesWithinMs). Checked inline by callers, so a
   * connected store pays no extra await.
   */
  #connecting(): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined
    const budget = new Promise((resolve) => (timer = setTimeout(resolve, this.opts.operationTimeout)))
    return Promise.race([this.#firstReady, budget]).finally(() => clearTimeout(timer))
  }

  /**
   * A Cluster connects to each master lazily, on the first command for one of its slots; doing
   * it up front keeps that connect out of the first requests' operation timeout.
   */
  async #connectMasters(): Promise<void> {
    await Promise.all(this.#masters().map((node) => node.ping().catch(() => undefined)))
  }

  #masters(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
  }

  #emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }
}
