/**
 * The in-process tier: decoded entries under the same keys as the store, so that a hit answers
 * with no store round trip. It never holds an entry past what the store would serve, judged by
 * the cache's clock (checked on every read; lru-cache keeps the byte budget), and it is only read while the
 * instance can hear invalidations from the other instances (see InvalidationBus): while it
 * cannot, an entry here might be one that another instance has invalidated.
 */
import { LRUCache } from 'lru-cache'
import type { CachedEntry } from './entry.js'

export interface L1Options {
  /** Byte budget for bodies and headers. */
  maxBytes: number
  /** Entry cap, enforced alongside the byte budget. @default DEFAULT_L1_MAX_ENTRIES */
  maxEntries?: number
}

export const DEFAULT_L1_MAX_ENTRIES = 10_000

/** Bookkeeping bytes per entry (LRU node, the entry object, its header pairs). */
const ENTRY_OVERHEAD = 256

interface Kept {
  entry: CachedEntry
  /** In the cache's clock: the entry is served while clock() < expiresAt. */
  expiresAt: number
}

function sizeOf(entry: CachedEntry, key: string): number {
  let size = ENTRY_OVERHEAD + key.length + entry.body.length
  for (const [name, value] of entry.headers) size += name.length + value.length
  return size
}

export class L1Tier {
  readonly maxBytes: number
  #lru: LRUCache<string, Kept>
  #clock: () => number
  #usable = true
  hits = 0

  constructor(options: L1Options, clock: () => number) {
    this.maxBytes = options.maxBytes
    this.#clock = clock
    // Expiry is ours, not lru-cache's TTL: the cache's clock is injectable and may jump (lru-cache
    // caches "now" and treats a start time of 0 as no TTL at all).
    this.#lru = new LRUCache<string, Kept>({
      max: options.maxEntries ?? DEFAULT_L1_MAX_ENTRIES,
      maxSize: options.maxBytes,
      sizeCalculation: (kept, key) => sizeOf(kept.entry, key),
    })
  }

  /** False while invalidations from other instances may be missed: reads and writes then skip L1. */
  get usable(): boolean {
    return this.#usable
  }

  /** Stops serving (the invalidation channel is down); entries are dropped when it comes back. */
  suspend(): void {
    this.#usable = false
  }

  /**
   * Serves what it holds, though messages may be missed: while the store itself is unreachable,
   * when no instance can invalidate through it either (the fallback serves the same way).
   */
  serveKept(): void {
    this.#usable = true
  }

  /** Serves again after a gap in which messages may have been missed: starts empty. */
  resume(): void {
    this.#lru.clear()
    this.#usable = true
  }

  get(key: string): CachedEntry | undefined {
    if (!this.#usable) return undefined
    const kept = this.#lru.get(key)
    if (kept === undefined) return undefined
    if (this.#clock() >= kept.expiresAt) {
      this.#lru.delete(key)
      return undefined
    }
    this.hits++
    return kept.entry
  }

  /** Keeps `entry` until `expiresAt` in the cache's clock (its bucket's end plus the stale window, or its errorTtl). */
  set(key: string, entry: CachedEntry, expiresAt: number): void {
    if (!this.#usable || !(this.#clock() < expiresAt) || sizeOf(entry, key) > this.maxBytes) return
    this.#lru.set(key, { entry, expiresAt })
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  /** Drops every key starting with `prefix`; the whole tier for ''. */
  deletePrefix(prefix: string): number {
    if (prefix === '') {
      const size = this.#lru.size
      this.#lru.clear()
      return size
    }
    let removed = 0
    for (const key of [...this.#lru.keys()]) {
      if (key.startsWith(prefix) && this.#lru.delete(key)) removed++
    }
    return removed
  }

  get size(): number {
    return this.#lru.size
  }

  get bytes(): number {
    return this.#lru.calculatedSize
  }
}
