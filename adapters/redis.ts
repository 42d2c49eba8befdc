import { EventEmitter } from 'node:events'
import type { Cluster, Redis } from 'ioredis'
import clusterKeySlot from 'cluster-key-slot'
import { consoleLogger, type Logger, type PubSub, type StoreExtras, type StoreInfo } from './contract.js'
import { RedisConnection } from './redis-connection.js'
import { deleteIfHolds, setIfGenerationsOn, takeLock } from './redis-guarded.js'
import { RedisPubSub } from './redis-pubsub.js'
import { countPrefix, mastersOf, memoryOf, unlinkPrefix } from './redis-nodes.js'
import { ServerRole, type Role } from './redis-role.js'
import { BUMP_GENERATION, fromRedis, scanBatches, toRedis } from './redis-wire.js'
import { buildClient, checkRedisOptions, describeTarget, isCluster, ownClient, redisOptionsFromEnv, type RedisStoreOptions } from './redis-config.js'
import { hasTtl, nonNegative, positive } from './checks.js'
import { CacheError } from './errors.js'
import type { Env } from './env.js'

export { redisConfigured, redisOptionsFromEnv, type RedisStoreOptions, type IoredisClient } from './redis-config.js'
export { PartialCountError, PartialDeleteError } from './redis-nodes.js'


/**
 * Keyv storage adapter on ioredis. It fails fast (per-command timeout, no
 * offline queue) and throws: the failure policy (circuit breaker, fallback,
 * logging per state change) belongs to the cache's ResilientStore, not here.
 * It does own read-only handling, because only it can see replication roles.
 */
export class RedisStore extends EventEmitter implements StoreExtras {
  readonly opts: { dialect: 'redis'; url: string; operationTimeout: number }
  /**
   * Set by Keyv 5 (and by hand); scopes clear() to `${namespace}:` keys. Declared only, never
   * initialised: Keyv 6 takes a store that has a `namespace` property as one that prefixes its
   * own keys, and stops prefixing (issue 13). Without one, Keyv 6 prefixes as Keyv 5 does.
   */
  declare namespace?: string | undefined
  readonly client: Redis | Cluster
  readonly cluster: boolean
  /** Values are kept (Redis: stored and read) as the very bytes given. */
  readonly buffers = true
  /**
   * Standalone and Sentinel: each command settles on its own (command timeout, no offline queue)
   * within operationTimeout, after at most half as long again waiting for a connection under way
   * (see RedisConnection.connecting). Not on a Cluster: after a master dies, ioredis retries a command on a
   * closed connection with slot refreshes for a second or more (issue 19), so the cache must arm
   * its own timer there.
   */
  get settlesWithinMs(): number | undefined {
    return this.cluster ? undefined : this.opts.operationTimeout * 1.5
  }
  #role: ServerRole
  #connection: RedisConnection
  #scanCount: number
  #logger: Logger

  constructor(options: RedisStoreOptions = {}) {
    super()
    checkRedisOptions(options)
    const operationTimeout = positive(options.operationTimeout ?? 100, 'RedisStore.operationTimeout')
    const connectTimeout = positive(options.connectTimeout ?? 2000, 'RedisStore.connectTimeout')
    const roleCheckInterval = nonNegative(options.roleCheckInterval ?? 15_000, 'RedisStore.roleCheckInterval')
    this.#scanCount = positive(options.scanCount ?? 500, 'RedisStore.scanCount')
    this.#logger = options.logger ?? consoleLogger
    this.client = options.client ? ownClient(options.client) : buildClient(options, operationTimeout, connectTimeout)
    this.cluster = isCluster(this.client)
    // ioredis files an auto-pipelined command under the slot of its first string argument, which
    // for EVAL is the script: scripts for keys on different nodes, sent in one tick, went out as one
    // pipeline that the Cluster refuses. Scripts go out on their own.
    if (this.cluster) this.client.options.autoPipeliningIgnoredCommands?.push('eval', 'evalsha')
    this.#role = new ServerRole(this.client, this.cluster, {
      forcedReadOnly: options.readOnly === true,
      logger: this.#logger,
      checkInterval: roleCheckInterval,
      events: this,
    })
    this.opts = { dialect: 'redis', url: describeTarget(options), operationTimeout }
    this.#connection = new RedisConnection(this.client, this.cluster, this.#role, {
      operationTimeout,
      connectTimeout,
      emitError: (error) => this.#emitError(error),
    })
  }

  /** Builds a store from REDIS_* variables; throws ConfigError naming a malformed one. */
  static fromEnv(env: Env = process.env, overrides: RedisStoreOptions = {}): RedisStore {
    return new RedisStore({ ...redisOptionsFromEnv(env), ...overrides })
  }

  /** Resolves true once connected, or false when connectTimeout passed first. Never rejects. */
  ready(): Promise<boolean> {
    return this.#connection.ready()
  }

  get readOnly(): boolean {
    return this.#role.readOnly
  }

  get role(): Role {
    return this.#role.role
  }

  /** The client's last error of its own (refused password, certificate, refused connection), classified; cleared once ready. */
  get lastError(): CacheError | undefined {
    return this.#connection.lastError
  }

  /** On a Cluster, the master of the key's slot (host:port, as ioredis's slot map names it). */
  nodeOf(key: string): string | undefined {
    return this.cluster ? (this.client as Cluster).slots[clusterKeySlot(key)]?.[0] : undefined
  }

  /** PING one master; resolves at once when no slot maps to it any more, rejects when it is not connected. */
  async pingNode(node: string): Promise<void> {
    if (!this.cluster) return this.ping()
    const client = this.client as Cluster
    if (!client.slots.some((owners) => owners?.[0] === node)) return
    const master = client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === node)
    if (!master) throw new CacheError('E_STORE_CONNECTION', `cache store node ${node} is not connected`)
    await master.ping()
  }

  /** PING: needs no key, so it works for an ACL user restricted to the cache's keys. */
  async ping(): Promise<void> {
    if (this.client.status !== 'ready') await this.#connection.connecting()
    await this.client.ping()
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (this.client.status !== 'ready') await this.#connection.connecting()
    return fromRedis(await this.client.getBuffer(key)) as T | undefined
  }

  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    if (keys.length === 0) return []
    if (this.client.status !== 'ready') await this.#connection.connecting()
    if (this.cluster && clusterKeySlot.generateMulti(keys) === -1) {
      return Promise.all(keys.map((key) => this.get<T>(key)))
    }
    const values = await this.client.mgetBuffer(...keys)
    return values.map((value) => fromRedis(value) as T | undefined)
  }

  /** Returns false, writing nothing, while read-only. TTL in ms. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    if (!(await this.#writable())) return this.#role.skipWrite()
    try {
      const payload = toRedis(value)
      if (hasTtl(ttl)) await this.client.set(key, payload, 'PX', Math.ceil(ttl))
      else await this.client.set(key, payload)
      return true
    } catch (error) {
      if (!this.#role.demoted(error)) throw error
      return this.#role.skipWrite()
    }
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    await Promise.all(entries.map(({ key, value, ttl }) => this.set(key, value, ttl)))
  }

  async has(key: string): Promise<boolean> {
    if (this.client.status !== 'ready') await this.#connection.connecting()
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
      if (!this.#role.demoted(error)) throw error
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
      if (!this.#role.demoted(error)) throw error
      return false
    }
  }

  async acquireLock(key: string, ttlMs: number): Promise<string | false | undefined> {
    if (this.readOnly) return undefined
    if (this.client.status !== 'ready') await this.#connection.connecting()
    return takeLock(this.client, key, ttlMs)
  }

  async releaseLock(key: string, token: string): Promise<void> {
    if (this.readOnly) return
    if (this.client.status !== 'ready') await this.#connection.connecting()
    await deleteIfHolds(this.client, key, token)
  }

  async readGenerations(keys: string[]): Promise<string[]> {
    const values = await this.getMany<string>(keys)
    return values.map((value) => value ?? '')
  }

  async bumpGenerations(keys: string[], ttlMs: number): Promise<void> {
    if (!(await this.#writable())) return
    await Promise.all(keys.map((key) => this.client.eval(BUMP_GENERATION, 1, key, Math.ceil(ttlMs))))
  }

  /** Stores `value` only while `generations` hold `expected` (see setIfGenerationsOn). */
  async setIfGenerations(key: string, value: unknown, ttl: number | undefined, generations: string[], expected: string[]): Promise<boolean> {
    if (!(await this.#writable())) return this.#role.skipWrite()
    try {
      return await setIfGenerationsOn(this.client, { key, payload: toRedis(value), ttl }, generations, expected, (keys) => this.readGenerations(keys))
    } catch (error) {
      if (!this.#role.demoted(error)) throw error
      return this.#role.skipWrite()
    }
  }

  /** Clears the namespace Keyv set (`${namespace}:*`), or the whole database without one; never KEYS. */
  async clear(): Promise<void> {
    await this.deletePrefix(this.namespace === undefined ? '' : `${this.namespace}:`)
  }

  /** SCAN + UNLINK in batches on every master; returns how many keys went. */
  async deletePrefix(prefix: string): Promise<number> {
    if (!(await this.#writable())) return 0
    try {
      return await unlinkPrefix(this.client, prefix, this.#scanCount)
    } catch (error) {
      if (!this.#role.demoted(error)) throw error
      return 0
    }
  }

  async countPrefix(prefix: string, signal?: AbortSignal): Promise<number> {
    if (this.client.status !== 'ready') await this.#connection.connecting()
    return countPrefix(this.client, prefix, this.#scanCount, signal)
  }

  /** Yields [key, value] under `${namespace}:` (every key without one) by SCAN on every master; never KEYS. */
  async *iterator<T>(namespace?: string): AsyncGenerator<[string, T], void> {
    if (this.client.status !== 'ready') await this.#connection.connecting()
    const prefix = namespace === undefined ? '' : `${namespace}:`
    for (const node of mastersOf(this.client)) {
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
    if (this.client.status !== 'ready') await this.#connection.connecting()
    return { backend: 'redis', role: this.#role.role, readOnly: this.readOnly, ...(await memoryOf(this.client)) }
  }

  /** Asks the server for its replication role (see ServerRole.check). */
  checkRole(): Promise<Role> {
    return this.#role.check()
  }

  /** PUBLISH on this store's connection, SUBSCRIBE on a connection of its own (redis-pubsub.ts). */
  pubsub(): PubSub {
    return new RedisPubSub(this.client)
  }

  async disconnect(): Promise<void> {
    this.#role.close()
    try {
      await this.client.quit()
    } catch {
      // disconnect() below
    }
    // After QUIT ioredis closes the connection but not its connector: the Sentinel connections
    // of the failover detector would stay subscribed and keep the process alive.
    this.client.disconnect()
  }

  /** Whether a write may go out; before the first connection it waits (bounded) to learn the role. */
  async #writable(): Promise<boolean> {
    if (this.#role.forcedReadOnly) return false
    if (this.client.status !== 'ready') await this.#connection.connecting()
    return !this.readOnly
  }

  #emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }
}
