/**
 * What an instance keeps in its own memory in front of the store (the in-process tier, L1), and
 * the invalidation channel that keeps it honest when several instances share the store.
 *
 * L1 is read only while invalidations from other instances can be heard: always for a store in
 * this process (MemoryStore: every invalidation is local), while the channel is subscribed for a
 * store with one (RedisStore: pub/sub), and never for a shared store without one (it is then off,
 * said once in the log). Each local drop moves an epoch; a copy read from the store or computed
 * before a drop is not put into L1 after it, so a drop can never be undone by a read in flight.
 */
import type { CacheStore, Logger, PubSubState } from '../../adapters/contract.js'
import { InvalidationBus, type Invalidation } from './bus.js'
import type { CachedEntry } from './entry.js'
import { L1Tier } from './l1.js'

export interface LocalTierHealth {
  entries: number
  bytes: number
  hits: number
  /** The invalidation channel: 'subscribed', 'down', 'connecting', or 'local' for an in-process store. */
  channel: PubSubState | 'connecting' | 'local'
  messages_sent: number
  messages_received: number
}

export class LocalTier {
  readonly #l1: L1Tier
  readonly #bus: InvalidationBus | undefined
  #epoch = 0
  #storeDown = false

  /** `onRemote`: another instance invalidated; drop what the engine keeps besides L1 (fallback, flights). */
  constructor(
    options: { maxBytes: number; maxEntries: number },
    primary: CacheStore,
    namespace: string,
    clock: () => number,
    logger: Logger,
    onRemote: (invalidation: Invalidation) => void,
  ) {
    this.#l1 = new L1Tier(options, clock)
    const inProcess = (primary.opts as { dialect?: string } | undefined)?.dialect === 'memory'
    if (inProcess) return
    if (typeof primary.pubsub !== 'function') {
      this.#l1.suspend()
      logger.warn({ event: 'cache_l1_off', reason: 'no invalidation channel' }, 'In-process tier off: the store offers no invalidation channel, so other instances could not reach it')
      return
    }
    this.#l1.suspend() // until the channel is subscribed
    this.#bus = new InvalidationBus(primary.pubsub(), namespace, logger)
    void this.#bus.start({
      apply: (invalidation) => {
        this.drop(invalidation)
        onRemote(invalidation)
      },
      state: (state) => (state === 'subscribed' ? this.#l1.resume() : this.#whileUnheard()),
    })
  }

  /**
   * The cache's circuit opened (true) or closed (false). While the store is unreachable the copies
   * held here serve, even with the channel down: they are the answers served just before the
   * outage, and no instance can invalidate through the store meanwhile (issue 19, item 5). The
   * channel coming back empties the tier as ever.
   */
  storeDown(down: boolean): void {
    this.#storeDown = down
    if (this.#bus && this.#bus.state !== 'subscribed') this.#whileUnheard()
  }

  #whileUnheard(): void {
    if (this.#storeDown) this.#l1.serveKept()
    else this.#l1.suspend()
  }

  /** Moves on with every drop: take it before reading a copy, and hand it back to set(). */
  get epoch(): number {
    return this.#epoch
  }

  get(key: string): CachedEntry | undefined {
    return this.#l1.get(key)
  }

  /** Keeps a copy until `expiresAt` (cache clock), unless something was dropped since `epoch`. */
  set(key: string, entry: CachedEntry, expiresAt: number, epoch: number): void {
    if (epoch === this.#epoch) this.#l1.set(key, entry, expiresAt)
  }

  /** Drops local copies matching an invalidation. */
  drop(invalidation: Invalidation): void {
    this.#epoch++
    if (invalidation.kind === 'key') this.#l1.delete(invalidation.value)
    else this.#l1.deletePrefix(invalidation.value)
  }

  /** Tells the other instances (after the store has dropped the keys); never throws. */
  publish(invalidation: Invalidation): Promise<void> {
    return this.#bus?.publish(invalidation) ?? Promise.resolve()
  }

  health(): LocalTierHealth {
    return {
      entries: this.#l1.size,
      bytes: this.#l1.bytes,
      hits: this.#l1.hits,
      channel: this.#bus?.state ?? 'local',
      messages_sent: this.#bus?.sent ?? 0,
      messages_received: this.#bus?.received ?? 0,
    }
  }

  close(): Promise<void> {
    return this.#bus?.close() ?? Promise.resolve()
  }
}
