/**
 * What RedisStore knows of the server it writes to: its replication role (a replica skips writes,
 * a promoted one writes again, a demoted primary stops) and which server it is (a reconnection
 * that reached another one is a switch of primary). Only the adapter can see these.
 */
import { EventEmitter } from 'node:events'
import type { Cluster, Redis } from 'ioredis'
import type { Logger } from './contract.js'
import { isReadOnlyError, parseInfo } from './redis-wire.js'

export type Role = 'master' | 'replica' | 'cluster'

/** While writes are skipped as a replica, a skipped write asks for the role again at most this often. */
const REPLICA_RECHECK_MS = 1000

export class ServerRole {
  readonly #client: Redis | Cluster
  readonly #forcedReadOnly: boolean
  readonly #logger: Logger
  /** Where 'role' and 'switch' are emitted: the store. */
  readonly #events: EventEmitter
  #role: Role
  #warnedReadOnly = false
  #checkedAt = 0
  #timer: NodeJS.Timeout | undefined
  /** The server the connection reached last (address and port), to see a switch of primary. */
  #server: string | undefined

  constructor(client: Redis | Cluster, cluster: boolean, options: { forcedReadOnly: boolean; logger: Logger; checkInterval: number; events: EventEmitter }) {
    this.#client = client
    this.#role = cluster ? 'cluster' : 'master'
    this.#forcedReadOnly = options.forcedReadOnly
    this.#logger = options.logger
    this.#events = options.events
    if (options.checkInterval > 0 && !cluster) {
      this.#timer = setInterval(() => void this.check(), options.checkInterval)
      this.#timer.unref()
    }
  }

  get role(): Role {
    return this.#role
  }

  get forcedReadOnly(): boolean {
    return this.#forcedReadOnly
  }

  get readOnly(): boolean {
    return this.#forcedReadOnly || this.#role === 'replica'
  }

  /**
   * Asks the server for its replication role. Runs at connect, after a READONLY error and
   * periodically, so a promoted replica starts writing again and a demoted primary stops. Errors
   * are ignored: an unreachable server keeps its last known role.
   */
  async check(): Promise<Role> {
    if (this.#role === 'cluster') return this.#role
    this.#checkedAt = Date.now()
    try {
      const fields = parseInfo(await (this.#client as Redis).info('replication'))
      const role = fields.get('role')
      this.#set(role === 'slave' || role === 'replica' ? 'replica' : 'master')
    } catch {
      // keep the last known role
    }
    return this.#role
  }

  /** A write skipped as read-only: warned once, and a replica's role asked again now and then. */
  skipWrite(): false {
    // A promoted replica is noticed at the next write after a second, not at the next periodic check.
    if (this.#role === 'replica' && Date.now() - this.#checkedAt >= REPLICA_RECHECK_MS) void this.check()
    if (!this.#warnedReadOnly) {
      this.#warnedReadOnly = true
      this.#logger.warn({ event: 'redis_read_only', role: this.#role }, 'Redis set skipped (read-only)')
    }
    return false
  }

  /** True for a READONLY reply: the server became a replica behind our back, so stop writing. */
  demoted(error: unknown): boolean {
    if (!isReadOnlyError(error)) return false
    this.#set('replica')
    void this.check()
    return true
  }

  /**
   * Called when the connection is ready: emits 'switch' when it reached another server than
   * before, under Sentinel a new primary. What the old one took in its last moments (after its
   * replica was promoted) is lost, and the cache applies its recent invalidations again
   * (src/cache/invalidation-ledger.ts).
   */
  connected(): void {
    if (this.#role === 'cluster') return
    const stream = (this.#client as { stream?: { remoteAddress?: string; remotePort?: number } }).stream
    if (stream?.remoteAddress === undefined) return
    const server = `${stream.remoteAddress}:${stream.remotePort}`
    const from = this.#server
    this.#server = server
    if (from === undefined || from === server) return
    this.#logger.info?.({ event: 'redis_switched', from, to: server }, 'Redis primary switched: now writing to another server')
    this.#events.emit('switch', { from, to: server })
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer)
  }

  #set(role: Role): void {
    if (role === this.#role) return
    const wasReadOnly = this.readOnly
    this.#role = role
    if (!wasReadOnly && this.readOnly) this.#warnedReadOnly = false
    if (wasReadOnly && !this.readOnly) {
      this.#logger.info?.({ event: 'redis_writes_resumed', role }, 'Redis accepts writes again (now a primary)')
    }
    this.#events.emit('role', role)
  }
}
