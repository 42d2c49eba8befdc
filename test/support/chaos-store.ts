/**
 * A store that fails on demand, for testing the failure policy without Redis (issue 15; bentocache
 * keeps the same kind of store for its failure tests). It wraps a real MemoryStore and, per
 * operation or for all of them, throws, hangs until healed, or answers late. It also plays a
 * replica (`readOnly`: writes are skipped and answered false, as RedisStore does on a replica) and
 * offers a store lock, so PeerLock and ResilientStore can be driven through their public methods.
 * The real-Redis fault tests (test/reliability) stay: this one proves the policy, they prove Redis.
 */
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { MemoryStore } from '../../adapters/memory.js'
import type { CacheStore, StoreInfo } from '../../adapters/contract.js'

type Misbehaviour = { kind: 'throw'; error: () => unknown } | { kind: 'hang' } | { kind: 'slow'; ms: number }

/** The operations a ChaosStore can be told to misbehave on. */
export type ChaosOperation =
  | 'get' | 'getMany' | 'set' | 'delete' | 'deletePrefix' | 'ping' | 'acquireLock' | 'releaseLock'
  | 'readGenerations' | 'bumpGenerations' | 'setIfGenerations' | 'info'

/** The error a refused connection gives (ioredis passes Node's on): classified E_STORE_CONNECTION. */
export function connectionRefused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })
}

export interface ChaosStoreOptions {
  /** Plays a replica: writes are not made, and answered false. */
  readOnly?: boolean
  /** Offers ping() (Redis's PING), which the circuit's probe prefers to a read. Default true. */
  ping?: boolean
  /** Offers a store lock (acquireLock/releaseLock). Default true. */
  locks?: boolean
}

export class ChaosStore extends EventEmitter implements CacheStore {
  readonly inner = new MemoryStore()
  readonly opts = { dialect: 'chaos', url: 'chaos://' }
  readonly buffers = true
  readOnly: boolean
  /** Each operation asked of this store, in order (misbehaving ones included). */
  readonly calls: ChaosOperation[] = []
  ping?: () => Promise<unknown>
  acquireLock?: (key: string, ttlMs: number) => Promise<string | false | undefined>
  releaseLock?: (key: string, token: string) => Promise<void>
  #misbehaviour: Misbehaviour | undefined
  #only: ReadonlySet<ChaosOperation> | undefined
  #hung: Array<() => void> = []

  constructor(options: ChaosStoreOptions = {}) {
    super()
    this.readOnly = options.readOnly ?? false
    if (options.ping !== false) this.ping = () => this.#act('ping', async () => 'PONG')
    if (options.locks !== false) {
      this.acquireLock = (key, ttlMs) => this.#act('acquireLock', () => this.#lock(key, ttlMs))
      this.releaseLock = (key, token) => this.#act('releaseLock', () => this.#unlock(key, token))
    }
  }

  /** From now on, the operations named (all when none) throw `error()` (a refused connection by default). */
  fail(error: () => unknown = connectionRefused, only?: ChaosOperation[]): this {
    return this.#set({ kind: 'throw', error }, only)
  }

  /** From now on, the operations named (all when none) never answer until heal(). */
  hang(only?: ChaosOperation[]): this {
    return this.#set({ kind: 'hang' }, only)
  }

  /** From now on, the operations named (all when none) answer after `ms`. */
  slow(ms: number, only?: ChaosOperation[]): this {
    return this.#set({ kind: 'slow', ms }, only)
  }

  /** Back to normal; operations left hanging answer now (late, as a stalled server's replies do). */
  heal(): this {
    this.#misbehaviour = undefined
    this.#only = undefined
    for (const release of this.#hung.splice(0)) release()
    return this
  }

  /** How many times `operation` was asked. */
  count(operation: ChaosOperation): number {
    return this.calls.filter((call) => call === operation).length
  }

  get<T>(key: string): Promise<T | undefined> {
    return this.#act('get', () => this.inner.get<T>(key))
  }

  getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    return this.#act('getMany', () => this.inner.getMany<T>(keys))
  }

  set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    return this.#act('set', async () => !this.readOnly && this.inner.set(key, value, ttl))
  }

  delete(key: string): Promise<boolean> {
    return this.#act('delete', () => this.inner.delete(key))
  }

  deletePrefix(prefix: string): Promise<number> {
    return this.#act('deletePrefix', () => this.inner.deletePrefix(prefix))
  }

  readGenerations(keys: string[]): Promise<string[]> {
    return this.#act('readGenerations', () => this.inner.readGenerations(keys))
  }

  bumpGenerations(keys: string[], ttlMs: number): Promise<void> {
    return this.#act('bumpGenerations', () => this.inner.bumpGenerations(keys, ttlMs))
  }

  setIfGenerations(key: string, value: unknown, ttl: number | undefined, generations: string[], expected: string[]): Promise<boolean> {
    return this.#act('setIfGenerations', async () => !this.readOnly && this.inner.setIfGenerations(key, value, ttl, generations, expected))
  }

  info(): Promise<StoreInfo> {
    return this.#act('info', async () => ({ ...(await this.inner.info()), readOnly: this.readOnly }))
  }

  async clear(): Promise<void> {
    await this.inner.clear()
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined
  }

  async disconnect(): Promise<void> {
    this.heal()
  }

  #set(misbehaviour: Misbehaviour, only: ChaosOperation[] | undefined): this {
    this.#misbehaviour = misbehaviour
    this.#only = only ? new Set(only) : undefined
    return this
  }

  async #act<T>(operation: ChaosOperation, run: () => Promise<T>): Promise<T> {
    this.calls.push(operation)
    const misbehaviour = this.#only === undefined || this.#only.has(operation) ? this.#misbehaviour : undefined
    if (misbehaviour?.kind === 'throw') throw misbehaviour.error()
    if (misbehaviour?.kind === 'hang') await new Promise<void>((resolve) => this.#hung.push(resolve))
    if (misbehaviour?.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, misbehaviour.ms))
    return run()
  }

  async #lock(key: string, ttlMs: number): Promise<string | false | undefined> {
    if (this.readOnly) return undefined
    if ((await this.inner.get(key)) !== undefined) return false
    const token = randomUUID()
    await this.inner.set(key, token, ttlMs)
    return token
  }

  async #unlock(key: string, token: string): Promise<void> {
    if ((await this.inner.get(key)) === token) await this.inner.delete(key)
  }
}
