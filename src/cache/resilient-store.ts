import { EventEmitter } from 'node:events'
import type { KeyvStoreAdapter } from 'keyv'
import type { CacheStore, Logger, StoreInfo } from '../../adapters/contract.js'
import { asStoreError, storeErrorCode } from '../../adapters/store-errors.js'
import { CacheError } from './errors.js'
import { RefusedWrites } from './refused-writes.js'
import { readGenerations, setIfGenerations, type Generations } from './generations.js'
import { SharedLocks } from './shared-locks.js'
import { Circuit, NodeCircuits, type CircuitState } from './circuit.js'
import { InvalidationLedger, type Invalidator } from './invalidation-ledger.js'
import { orElse, readMany, withTimeout } from './store-calls.js'

/** An invalidation may walk a whole keyspace (SCAN, or an adapter's iterator): a budget of its own. */
const INVALIDATE_BUDGET_MS = 30_000

export type { CircuitState }

/** Generations as read from one store, while the circuit (and the key's node circuit) was in one state. */
export interface GenerationSnapshot extends Generations {
  store: CacheStore
  epoch: number
  /** On a Cluster: the circuit of the node the counters were read from, and its epoch then. */
  node?: { circuit: Circuit; epoch: number }
}

export interface ResilientStoreOptions {
  operationTimeout: number
  failureThreshold: number
  probeInterval: number
  logger: Logger
  /** The cache's namespace: a store without ping() is probed with a key inside it (ACLs may allow no other). */
  namespace?: string
  /** Time for "last seen" in health. Default Date.now. */
  clock?: () => number
}

/** The primary's role as last seen while it answered, for health while the circuit is open. */
export interface LastSeen {
  role: string | undefined
  /** ms since the epoch of the last operation the primary answered. */
  at: number
}

/**
 * The one place that decides what a store failure means. Every operation on
 * the primary gets a time budget; consecutive failures open the circuit, and
 * while it is open reads and writes go to the fallback without touching the
 * primary. A background probe (half-open) closes it again once the primary
 * answers. Nothing here throws to a caller: a read that fails is a miss, a
 * write that fails is dropped. Each state change is logged once and emitted
 * as a 'circuit' event; each failure is emitted as a 'store-error' event.
 */
export class ResilientStore extends EventEmitter {
  readonly primary: CacheStore
  readonly fallback: CacheStore | undefined
  #options: ResilientStoreOptions
  #circuit: Circuit
  /** On a Cluster: one circuit per master, for the operations on its keys (see #circuitOf). */
  #nodes: NodeCircuits
  #lastError: CacheError | undefined
  #ledger: InvalidationLedger
  #locks: SharedLocks
  /** The primary bounds its own operations within our budget: no timer per operation. */
  #selfTimed: boolean
  /** Whether the primary answers reads but refuses writes (out of memory): answers are then kept locally. */
  #writes: RefusedWrites
  #lastOkAt = 0
  #lastRole: string | undefined

  constructor(primary: KeyvStoreAdapter, fallback: KeyvStoreAdapter | undefined, options: ResilientStoreOptions) {
    super()
    this.primary = primary
    this.fallback = fallback
    this.#options = options
    const within = (primary as CacheStore).settlesWithinMs
    this.#selfTimed = typeof within === 'number' && within <= options.operationTimeout
    this.#writes = new RefusedWrites(() => this.#writeProbe(), options.probeInterval, options.logger, (state) => this.emit('writes', state))
    this.#nodes = new NodeCircuits((node) => this.#nodeCircuit(node))
    this.#circuit = new Circuit({
      ...options,
      probe: () => this.#probeOnce(),
      beforeClose: async () => {
        if (!(await this.#ledger.replay())) throw this.#lastError
        this.#lastOkAt = this.#now()
      },
      probeFailed: (error) => this.#probeFailed(error),
      changed: (state) => this.emit('circuit', state),
    })
    this.#locks = new SharedLocks(
      primary,
      // After a failure, do not spend a second time budget on a lock: compute unlocked instead.
      (key) => this.#circuit.state === 'closed' && this.#circuitOf(key).state === 'closed' && this.#circuitOf(key).failures === 0,
      (name, command, key) => this.#withFallback(name, command, () => undefined, true, key),
    )
    this.#ledger = new InvalidationLedger({
      apply: (operation) => this.#bounded(operation(this.primary), 'invalidate', INVALIDATE_BUDGET_MS),
      serving: () => this.#circuit.state === 'closed',
      succeeded: () => this.#circuit.succeeded(),
      failed: (error, how, key) => {
        if (how === 'failed') return this.#recordFailure(error, 'invalidate', this.#circuitOf(key))
        this.#lastError = asStoreError(error, 'invalidate')
        if (how === 'partial') this.emit('store-error', this.#lastError)
      },
      retryMs: options.probeInterval,
      logger: options.logger,
    })
    // An adapter with no 'error' listener would crash the process on emit.
    primary.on?.('error', () => {})
    // The adapter now talks to another server (a Sentinel failover): see InvalidationLedger.
    primary.on?.('switch', () => {
      this.#ledger.switched()
      this.#circuit.probeNow()
    })
  }

  get state(): CircuitState {
    return this.#circuit.state
  }

  /** True while the circuit, or a Cluster node's, is not closed. */
  get degraded(): boolean {
    return this.#circuit.state !== 'closed' || this.openNodes.length > 0
  }

  /** Cluster masters whose circuit is not closed: their keys are served from the fallback. */
  get openNodes(): string[] {
    return this.#nodes.open
  }

  get lastError(): CacheError | undefined {
    return this.#lastError
  }

  /** Why the primary refuses writes while it still serves reads (out of memory), or undefined. */
  get writesRefused(): CacheError | undefined {
    return this.#writes.error
  }

  /** The primary's role and when it last answered; undefined before it ever did. */
  get lastSeen(): LastSeen | undefined {
    return this.#lastOkAt === 0 ? undefined : { role: this.#lastRole ?? (this.primary as { role?: string }).role, at: this.#lastOkAt }
  }

  /** The store serving now: the primary, or the fallback while the circuit is not closed. */
  get active(): CacheStore | undefined {
    return this.#circuit.state === 'closed' ? this.primary : this.fallback
  }

  getMany(keys: string[]): Promise<unknown[]> {
    const values = this.#withFallback('getMany', (store) => readMany(store, keys), () => keys.map(() => undefined), false, keys[0])
    return this.#keepsLocal() ? values.then((found) => this.#fillFromFallback(keys, found)) : values
  }

  /**
   * getMany() done at once, for a primary that reads in process (readNow): a hit then awaits
   * nothing, which measured about 3% of a MemoryStore hit's CPU (benchmarks/hit-ab.ts). Undefined
   * whenever getMany() has more to do (circuit not closed, local copies, no readNow) and when the
   * read throws: getMany() then reads again, and records the failure if there is still one.
   */
  getManyNow(keys: string[]): unknown[] | undefined {
    const primary = this.primary
    if (primary.readNow === undefined || this.#circuit.state !== 'closed' || this.#keepsLocal()) return undefined
    const circuit = this.#circuitOf(keys[0])
    if (circuit.state !== 'closed') return undefined
    let values: unknown[]
    try {
      values = primary.readNow(keys)
    } catch {
      return undefined
    }
    circuit.succeeded()
    this.#lastOkAt = this.#now()
    return values
  }

  async get(key: string): Promise<unknown> {
    return (await this.getMany([key]))[0]
  }

  /**
   * A read-only primary (a replica) skips the write, and one out of memory
   * refuses it (#withFallback then writes to the fallback); either way the answer is
   * kept in the fallback so this instance does not compute it again each request.
   */
  async set(key: string, value: unknown, ttl: number): Promise<boolean> {
    let accepted = false
    const stored = await this.#withFallback(
      'set',
      async (store) => {
        const ok = (await store.set(key, value, ttl)) !== false
        if (store === this.primary) accepted = ok
        return ok
      },
      () => false,
      false,
      key,
    )
    if (accepted) this.#writes.accepted()
    return stored || this.#keepLocal(key, value, ttl)
  }

  /** Reads generation counters from the store serving now; undefined when no store could answer. */
  async readGenerations(keys: string[]): Promise<GenerationSnapshot | undefined> {
    const epoch = this.#circuit.epoch
    // The route's counter shares the entry's hash tag: its node is the entry's.
    const circuit = this.#circuitOf(keys[0])
    const node = circuit === this.#circuit ? undefined : { circuit, epoch: circuit.epoch }
    let from: CacheStore | undefined
    const read = (store: CacheStore): Promise<string[] | undefined> => {
      from = store
      return readGenerations(store, keys)
    }
    // After a failure on this node (the lookup of this very request, often), do not spend a second
    // time budget on the counters: read them where an open circuit would, as the shared lock does.
    const values =
      circuit.failures > 0
        ? this.fallback && (await orElse(read(this.fallback), undefined))
        : await this.#withFallback('generations', read, () => undefined, false, keys[0])
    return values === undefined || from === undefined ? undefined : { keys, values, store: from, epoch, ...(node && { node }) }
  }

  /**
   * Writes an entry only to the store its snapshot was read from: counters of
   * the fallback say nothing about the primary's. To the primary only while the
   * circuit has not opened or closed since, so a computation that began during
   * an outage is not stored once Redis is back, where the invalidations made
   * during the outage have been replayed; nor one that began before it. To the
   * fallback also when the circuit opened after the read (the primary failed
   * the read, then the threshold was reached), as long as the fallback serves:
   * otherwise each instance computed every key twice at each outage (issue 19, item 5).
   */
  async setIfGenerations(key: string, value: unknown, ttl: number, read: GenerationSnapshot): Promise<boolean> {
    if (read.store !== this.primary) {
      const circuit = read.node?.circuit ?? this.#circuit
      const epoch = read.node?.epoch ?? read.epoch
      if (circuit.epoch !== epoch && circuit.state === 'closed') return false
      return orElse(setIfGenerations(read.store, key, value, ttl, read), false)
    }
    if (read.epoch !== this.#circuit.epoch || (read.node && read.node.epoch !== read.node.circuit.epoch)) return false
    const stored = await this.#withFallback('set', (store) => setIfGenerations(store, key, value, ttl, read), () => false, true, key)
    if (stored) this.#writes.accepted()
    return stored || this.#keepLocal(key, value, ttl)
  }

  /** On a read-only primary, or one out of memory, the answer is kept in the fallback. */
  #keepLocal(key: string, value: unknown, ttl: number): Promise<boolean> | false {
    if (!this.#keepsLocal()) return false
    return orElse(this.fallback!.set(key, value, ttl).then((ok: unknown) => ok !== false), false)
  }

  /** True while the primary serves reads but skips or refuses writes, and a fallback can keep local copies. */
  #keepsLocal(): boolean {
    return this.#circuit.state === 'closed' && this.fallback !== undefined && (this.primary.readOnly === true || this.#writes.error !== undefined)
  }

  async #fillFromFallback(keys: string[], values: unknown[]): Promise<unknown[]> {
    if (values.every((value) => value !== undefined)) return values
    const local = await orElse(readMany(this.fallback!, keys), [] as unknown[])
    return values.map((value, i) => value ?? local[i])
  }

  /** The lock shared with other processes (see SharedLocks): a token, false when a peer holds it, undefined when none can be had. */
  acquireLock(key: string, ttlMs: number, again = false): Promise<string | false | undefined> {
    return this.#locks.acquire(key, ttlMs, again)
  }

  releaseLock(key: string, token: string): Promise<unknown> {
    return this.#locks.release(key, token)
  }

  /** `operation` replaces the plain delete, for an invalidation that does more (moves a generation). */
  async delete(key: string, operation: (store: CacheStore) => Promise<boolean> = (store) => store.delete(key)): Promise<boolean> {
    this.#locks.forget(key)
    const fromFallback = this.fallback ? await orElse(operation(this.fallback), false) : false
    const fromPrimary = await this.#ledger.run(`key:${key}`, operation, false, key)
    return fromPrimary || fromFallback
  }

  /** Runs on the primary and the fallback both, so nothing invalidated survives in either. */
  async deletePrefix(prefix: string, enumerate: (store: CacheStore) => Promise<number>): Promise<number> {
    this.#locks.forgetPrefix(prefix)
    const fromFallback = this.fallback ? await orElse(enumerate(this.fallback), 0) : 0
    const fromPrimary = await this.#ledger.run(`prefix:${prefix}`, enumerate, 0)
    return fromPrimary + fromFallback
  }

  /** Invalidations not yet applied to the whole primary (missed during an outage, or partial): being retried. */
  get pendingInvalidations(): number {
    return this.#ledger.size
  }

  /** Our time budget around an operation, unless the primary bounds its own commands. */
  #bounded<T>(pending: Promise<T>, name: string, ms = this.#options.operationTimeout): Promise<T> {
    return this.#selfTimed ? pending : withTimeout(pending, ms, name)
  }

  /** Asks the serving store, within the time budget; undefined when it cannot say. */
  async info(): Promise<StoreInfo | undefined> {
    const store = this.active
    if (!store?.info) return undefined
    const info = await orElse(withTimeout(store.info(), this.#options.operationTimeout * 5, 'info'), undefined)
    if (info && store === this.primary) this.#lastRole = info.role
    return info
  }

  close(): void {
    this.#circuit.close()
    this.#nodes.close()
    this.#ledger.close()
    this.#writes.close()
  }

  /**
   * Runs `operation` on the primary within the time budget while the circuit
   * is closed (and, on a Cluster, the circuit of `key`'s master); otherwise, or
   * when it fails, on the fallback; `otherwise` answers when neither can.
   * `primaryOnly` skips the fallback run (used where the caller already ran it).
   */
  async #withFallback<T>(
    name: string,
    operation: (store: CacheStore) => Promise<T>,
    otherwise: () => T,
    primaryOnly = false,
    key?: string,
  ): Promise<T> {
    const circuit = this.#circuitOf(key)
    if (this.#circuit.state === 'closed' && circuit.state === 'closed') {
      try {
        const result = await this.#bounded(operation(this.primary), name)
        circuit.succeeded()
        this.#lastOkAt = this.#now()
        return result
      } catch (error) {
        this.#recordFailure(error, name, circuit)
      }
    }
    if (primaryOnly || !this.fallback) return otherwise()
    return orElse(operation(this.fallback), otherwise())
  }

  #probeFailed(error: unknown): CacheError {
    this.#lastError = this.#explain(asStoreError(error, 'probe'))
    this.emit('store-error', this.#lastError)
    return this.#lastError
  }

  #recordFailure(error: unknown, operation: string, circuit: Circuit): void {
    this.#lastError = this.#explain(asStoreError(error, operation))
    this.emit('store-error', this.#lastError)
    // A store out of memory still answers: refused writes go to the fallback, the circuit stays closed.
    if (this.#lastError.code === 'E_STORE_OOM') return this.#writes.refused(this.#lastError)
    circuit.failed(this.#lastError)
  }

  /**
   * The circuit that stands for `key`: on a Cluster, the one of its slot's master, so that a
   * master that fails sends only its own keys to the fallback, routes on the others keep Redis
   * and the shared lock, and the probe asks the master that failed (issue 19, item 2). Otherwise,
   * and for operations without a key, the store's one circuit.
   */
  #circuitOf(key: string | undefined): Circuit {
    const node = key === undefined ? undefined : this.primary.nodeOf?.(key)
    return node === undefined || this.primary.pingNode === undefined ? this.#circuit : this.#nodes.of(node)
  }

  #nodeCircuit(node: string): Circuit {
    return new Circuit({
      ...this.#options,
      label: { node },
      // Resolves at once once no slot maps to the node any more: its replica serves them now.
      probe: () => this.primary.pingNode!(node),
      beforeClose: async () => {
        this.#lastOkAt = this.#now()
      },
      probeFailed: (error) => this.#probeFailed(error),
      changed: (state) => this.emit('node-circuit', node, state),
    })
  }

  /**
   * A command that failed only because the connection is down says nothing of
   * why; the client's own last error (a refused password, a certificate) does.
   */
  #explain(error: CacheError): CacheError {
    if (error.code !== 'E_STORE_CONNECTION' && error.code !== 'E_STORE') return error
    const reason = this.primary.lastError
    const code = storeErrorCode(reason)
    if (code === undefined || code === 'E_STORE_CONNECTION' || !(reason instanceof Error)) return error
    return new CacheError(code, `${error.message} (${reason.message})`, { cause: reason })
  }

  /** A short-lived write inside the namespace: true once the primary takes writes again. */
  async #writeProbe(): Promise<boolean> {
    if (this.#circuit.state !== 'closed') return false
    return (await this.#bounded(this.primary.set(this.#probeKey(), '1', 1000), 'probe')) !== false
  }

  /**
   * A command that needs no key when the store has one (PING on Redis), else a
   * read of a key inside the namespace: an ACL that allows only the cache's
   * keys must not keep the circuit open for ever.
   */
  #probeOnce(): Promise<unknown> {
    const { primary } = this
    if (typeof primary.ping === 'function') return primary.ping()
    return primary.get(this.#probeKey())
  }

  /** Every cache key has `:<bucket>` after its route segment, so no entry is named like this. */
  #probeKey(): string {
    return `${this.#options.namespace ?? 'cache'}:!probe`
  }

  #now(): number {
    return (this.#options.clock ?? Date.now)()
  }
}
