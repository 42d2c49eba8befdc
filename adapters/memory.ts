import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import type { StoreExtras, StoreInfo } from './contract.js'
import { hasTtl, positiveInt, rejectUnknownKeys } from './checks.js'

export interface MemoryStoreOptions {
  /**
   * Byte budget for keys plus values; least recently used entries go first.
   * @default 64 * 2 ** 20 (64 MiB)
   */
  maxBytes?: number
  /**
   * Entry cap, enforced alongside the byte budget.
   * @default 100_000
   */
  maxEntries?: number
}

/** Bookkeeping bytes per entry (LRU node, Map slot, TTL slot), so tiny values still count. */
const ENTRY_OVERHEAD = 96

type Value = NonNullable<unknown>

/**
 * Keyv storage adapter in process memory, on lru-cache: TTL in milliseconds,
 * a byte budget and an entry cap, both enforced on every set. Values are kept
 * as given (Buffers stay Buffers). It is the reference adapter of the
 * conformance suite and the fallback while Redis is down.
 */
export class MemoryStore extends EventEmitter implements StoreExtras {
  readonly opts: { dialect: 'memory'; url: string; maxBytes: number; maxEntries: number }
  /**
   * Set by Keyv 5 (and by hand); scopes clear() to `${namespace}:` keys. Declared only, never
   * initialised: Keyv 6 takes a store that has a `namespace` property as one that prefixes its
   * own keys, and stops prefixing (issue 13). Without one, Keyv 6 prefixes as Keyv 5 does.
   */
  declare namespace?: string | undefined
  readonly cluster = false
  /** Values are kept (Redis: stored and read) as the very bytes given. */
  readonly buffers = true
  readonly readOnly = false
  /** In process: every operation settles at once. */
  readonly settlesWithinMs = 0
  #lru: LRUCache<string, Value>
  /**
   * Generation counters, apart from the entries: the byte budget never evicts
   * them, and clear() and deletePrefix() never reset them.
   */
  #generations = new LRUCache<string, string>({ max: 10_000 })

  constructor(options: MemoryStoreOptions = {}) {
    super()
    rejectUnknownKeys(options, ['maxBytes', 'maxEntries'], 'MemoryStore.')
    const maxBytes = positiveInt(options.maxBytes ?? 64 * 2 ** 20, 'MemoryStore.maxBytes')
    const maxEntries = positiveInt(options.maxEntries ?? 100_000, 'MemoryStore.maxEntries')
    this.opts = { dialect: 'memory', url: 'memory://', maxBytes, maxEntries }
    this.#lru = new LRUCache<string, Value>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (value, key) => sizeOf(key, value),
      ttlAutopurge: false,
      allowStale: false,
    })
  }

  /** Bytes currently counted against the budget. */
  get bytes(): number {
    return this.#lru.calculatedSize
  }

  get size(): number {
    return this.#lru.size
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.#lru.get(key) as T | undefined
  }

  async getMany<T>(keys: string[]): Promise<Array<T | undefined>> {
    return this.readNow(keys) as Array<T | undefined>
  }

  readNow(keys: string[]): unknown[] {
    return keys.map((key) => this.#lru.get(key))
  }

  /** Returns false when the value alone is larger than the byte budget (nothing is stored). */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    if (value === undefined || value === null) return this.delete(key).then(() => true)
    if (sizeOf(key, value) > this.opts.maxBytes) {
      this.#lru.delete(key)
      return false
    }
    this.#lru.set(key, value, ttlOption(ttl))
    return true
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    for (const { key, value, ttl } of entries) await this.set(key, value, ttl)
  }

  async has(key: string): Promise<boolean> {
    return this.#lru.has(key)
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return keys.map((key) => this.#lru.has(key))
  }

  async delete(key: string): Promise<boolean> {
    return this.#lru.delete(key)
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false
    for (const key of keys) any = this.#lru.delete(key) || any
    return any
  }

  /** Clears the namespace when Keyv set one, otherwise everything. */
  async clear(): Promise<void> {
    if (this.namespace === undefined) this.#lru.clear()
    else await this.deletePrefix(`${this.namespace}:`)
  }

  async deletePrefix(prefix: string): Promise<number> {
    let removed = 0
    for (const key of [...this.#lru.keys()]) {
      if (key.startsWith(prefix) && this.#lru.delete(key)) removed++
    }
    return removed
  }

  async readGenerations(keys: string[]): Promise<string[]> {
    return keys.map((key) => this.#generations.get(key) ?? '')
  }

  async bumpGenerations(keys: string[], ttlMs: number): Promise<void> {
    for (const key of keys) this.#generations.set(key, String(Number(this.#generations.get(key) ?? 0) + 1), ttlOption(ttlMs))
  }

  /** Check and write happen in one synchronous step, so no invalidation can come between them. */
  async setIfGenerations(key: string, value: unknown, ttl: number | undefined, generations: string[], expected: string[]): Promise<boolean> {
    if (generations.some((generation, i) => (this.#generations.get(generation) ?? '') !== expected[i])) return false
    return this.set(key, value, ttl)
  }

  async countPrefix(prefix: string): Promise<number> {
    let count = 0
    for (const key of this.#lru.keys()) if (key.startsWith(prefix)) count++
    return count
  }

  async *iterator<T>(namespace?: string): AsyncGenerator<[string, T], void> {
    const prefix = namespace === undefined ? '' : `${namespace}:`
    for (const [key, value] of this.#lru.entries()) {
      if (key.startsWith(prefix)) yield [key, value as T]
    }
  }

  async info(): Promise<StoreInfo> {
    return {
      backend: 'memory',
      readOnly: false,
      keys: this.#lru.size,
      memory: { used: this.#lru.calculatedSize, max: this.opts.maxBytes, policy: 'lru' },
    }
  }

  async disconnect(): Promise<void> {
    this.#lru.clear()
  }
}

function sizeOf(key: string, value: unknown): number {
  return ENTRY_OVERHEAD + key.length + valueBytes(value)
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return value.length * 2 // UTF-16 worst case, no encoding pass
  if (value instanceof Uint8Array) return value.byteLength
  if (typeof value === 'number' || typeof value === 'boolean') return 8
  return JSON.stringify(value)?.length ?? 8
}

/** lru-cache's option for a TTL in ms, rounded up; none for no expiry. */
function ttlOption(ttl: number | undefined): { ttl?: number } {
  return hasTtl(ttl) ? { ttl: Math.ceil(ttl) } : {}
}
