import type { KeyvStoreAdapter } from 'keyv'

/**
 * What this project's adapters offer beyond Keyv's storage-adapter contract.
 * Every member is optional for third-party stores: the cache checks for it and
 * falls back to the plain contract (get, set, delete, clear, getMany) when absent.
 */
export interface StoreExtras {
  /**
   * Takes a short lock shared by every process on this store (SET NX PX on
   * Redis): a token when taken, false when another holder has it, undefined
   * when this store cannot lock now (read-only).
   */
  acquireLock?(key: string, ttlMs: number): Promise<string | false | undefined>
  /** Releases a lock taken with `token`, and only if it is still that holder's. */
  releaseLock?(key: string, token: string): Promise<void>
  /** Deletes every key that starts with `prefix` (SCAN + UNLINK on Redis); returns how many. */
  deletePrefix?(prefix: string): Promise<number>
  /** Counts the keys that start with `prefix` without KEYS; rejects with the signal's reason if `signal` aborts first. */
  countPrefix?(prefix: string, signal?: AbortSignal): Promise<number>
  /**
   * Generation counters (see src/cache/generations.ts): the value of each key,
   * '' for one never moved. Read when a computation starts.
   */
  readGenerations?(keys: string[]): Promise<string[]>
  /** Moves each counter on (INCR on Redis); each is kept `ttlMs` after its last move. */
  bumpGenerations?(keys: string[], ttlMs: number): Promise<void>
  /**
   * Sets `key` only while every generation key still holds the value read
   * before (`expected[i]` for `generations[i]`), checked with the write as one
   * step; false when one has moved, or while read-only. TTL in ms.
   */
  setIfGenerations?(key: string, value: unknown, ttl: number | undefined, generations: string[], expected: string[]): Promise<boolean>
  /** Backend, role and memory, for health checks. */
  info?(): Promise<StoreInfo>
  /** True when keys of one hash tag must share a slot for multi-key reads (Redis Cluster). */
  readonly cluster?: boolean
  /**
   * The longest a get or set takes to settle, by the adapter's own guarantee
   * (0 in process; a client-side command timeout with no offline queue on
   * Redis). Within the cache's budget, the cache arms no timer of its own.
   */
  readonly settlesWithinMs?: number
  /**
   * getMany() answered at once, without a promise, by a store that holds its values in this
   * process: the cache then answers a hit without awaiting anything. It may throw.
   */
  readNow?(keys: string[]): unknown[]
  /** True while writes are skipped (read-only replica, forced or detected). */
  readonly readOnly?: boolean
  /**
   * Asks the backend whether it answers, touching no key (PING on Redis), so
   * a user whose ACL allows only the cache's keys can still be probed.
   */
  ping?(): Promise<unknown>
  /** The last error the client reported on its own (refused password, certificate), kept for logs. */
  readonly lastError?: unknown
  /**
   * True when a Buffer set is read back as the same bytes. Other stores (most Keyv adapters
   * expect Keyv's serialized strings) are given the cache's entries as text.
   */
  readonly buffers?: boolean
  /** Publish/subscribe shared by every process on this store, for invalidations (Redis: PUBLISH/SUBSCRIBE). */
  pubsub?(): PubSub
  /**
   * The server that holds `key` when the store spreads keys over several (a Cluster: the master
   * of its slot), so that the cache can tell one failed server from a failed store; undefined
   * when one server holds everything.
   */
  nodeOf?(key: string): string | undefined
  /**
   * Asks that server whether it answers; resolves at once when it holds no key any more (its
   * replica was promoted), so a breaker kept for it can close and go.
   */
  pingNode?(node: string): Promise<unknown>
  // Events besides Keyv's 'error': 'switch' ({ from, to }) when the store now talks to another
  // server for the same data (a Sentinel failover), so writes of the last moments may be lost.
}

/** 'subscribed': messages arrive; 'down': the subscription is lost and messages may be missed. */
export type PubSubState = 'subscribed' | 'down'

export interface PubSub {
  publish(channel: string, message: string): Promise<void>
  /** Calls onState('subscribed') each time the subscription is (re)established, onState('down') when it is lost. */
  subscribe(channel: string, onMessage: (message: string) => void, onState: (state: PubSubState) => void): Promise<void>
  close(): Promise<void>
}

export interface StoreInfo {
  backend: 'redis' | 'memory' | string
  role?: 'master' | 'replica' | 'cluster' | 'sentinel' | undefined
  readOnly: boolean
  /** Keys in the store (DBSIZE, or entries for memory). */
  keys: number
  memory: { used: number; max: number; policy: string }
}

export type CacheStore = KeyvStoreAdapter & StoreExtras

/** The minimum a logger must offer; pino and console both fit. */
export interface Logger {
  warn(obj: object | string, msg?: string): void
  info?(obj: object | string, msg?: string): void
  error?(obj: object | string, msg?: string): void
}

export const consoleLogger: Logger = {
  warn: (obj, msg) => console.warn(...(msg === undefined ? [obj] : [msg, obj])),
}
