import { EventEmitter } from 'node:events'
import type { KeyvStoreAdapter } from 'keyv'
import type { CacheStore, Logger, StoreInfo } from '../../adapters/contract.js'
import { asStoreError } from '../../adapters/store-errors.js'
import type { CacheError } from './errors.js'
import { LocalCopies } from './local-copies.js'
import { explainFailure, probeStore } from './store-probe.js'
import { GuardedWrites, type GenerationSnapshot } from './guarded-writes.js'
import { SharedLocks } from './shared-locks.js'
import { Circuit, NodeCircuits, type CircuitState } from './circuit.js'
import { StoreInvalidations } from './store-invalidations.js'
import { orElse, readMany, withTimeout } from './store-calls.js'

/** An invalidation may walk a whole keyspace (SCAN, or an adapter's iterator): a budget of its own. */
const INVALIDATE_BUDGET_MS = 30_000

export type { CircuitState, GenerationSnapshot }

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
  #locks: SharedLocks
  /** Invalidations on both stores, retried on the primary until they reach all of it. */
  readonly invalidations: StoreInvalidations
  /** The primary bounds its own operations within our budget: no timer per operation. */
  #selfTimed: boolean
  /** Answers kept locally while the primary answers reads but skips or refuses writes. */
  #local: LocalCopies
  #guarded: GuardedWrites
  #lastOkAt = 0
  #lastRole: string | undefined

  constructor(primary: KeyvStoreAdapter, fallback: KeyvStoreAdapter | undefined, options: ResilientStoreOptions) {
    super()
    this.primary = primary
    this.fallback = fallback
    this.#options = options
    const within = (primary as CacheStore).settlesWithinMs
    this.#selfTimed = typeof within === 'number' && within <= options.operationTimeout
    this.#local = new LocalCopies(primary, fallback, {
      serving: () => this.#circuit.state === 'closed',
      bounded: (pending, name) => this.#bounded(pending, name),
      namespace: options.namespace,
      probeInterval: options.probeInterval,
      logger: options.logger,
      changed: (state) => this.emit('writes', state),
    })
    this.#nodes = new NodeCircuits({
      ...options,
      // Resolves at once once no slot maps to the node any more: its replica serves them now.
      probe: (node) => this.primary.pingNode!(node),
      beforeClose: async () => {
        this.#lastOkAt = this.#now()
      },
      probeFailed: (error) => this.#probeFailed(error),
      changed: (node, state) => this.emit('node-circuit', node, state),
    })
    this.#circuit = new Circuit({
      ...options,
      probe: () => probeStore(this.primary, options.namespace),
      beforeClose: async () => {
        if (!(await this.invalidations.ledger.replay())) throw this.#lastError
        this.#lastOkAt = this.#now()
      },
      probeFailed: (error) => this.#probeFailed(error),
      changed: (state) => this.emit('circuit', state),
    })
    this.#guarded = new GuardedWrites({
      primary: this.primary,
      circuit: this.#circuit,
      circuitOf: (key) => this.#circuitOf(key),
      run: (name, operation, otherwise, primaryOnly, key) => this.#withFallback(name, operation, otherwise, primaryOnly, key),
      fallback: this.fallback,
      local: this.#local,
    })
    this.#locks = new SharedLocks(
      primary,
      // After a failure, do not spend a second time budget on a lock: compute unlocked instead.
      (key) => this.#circuit.state === 'closed' && this.#circuitOf(key).state === 'closed' && this.#circuitOf(key).failures === 0,
      (name, command, key) => this.#withFallback(name, command, () => undefined, true, key),
    )
    this.invalidations = new StoreInvalidations(fallback, this.#locks, {
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
      this.invalidations.ledger.switched()
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
    return this.#local.refused
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
    if (accepted) this.#local.accepted()
    return stored || this.#local.keep(key, value, ttl)
  }

  /** Reads generation counters from the store serving now; undefined when no store could answer. */
  readGenerations(keys: string[]): Promise<GenerationSnapshot | undefined> {
    return this.#guarded.read(keys)
  }

  /** Writes an entry only if no invalidation came since `read` (see GuardedWrites.write). */
  setIfGenerations(key: string, value: unknown, ttl: number, read: GenerationSnapshot): Promise<boolean> {
    return this.#guarded.write(key, value, ttl, read)
  }

  // The read path (getMany) names these two; the local copies live in LocalCopies.
  #keepsLocal(): boolean {
    return this.#local.kept
  }

  #fillFromFallback(keys: string[], values: unknown[]): Promise<unknown[]> {
    return this.#local.fill(keys, values)
  }

  /** The lock shared with other processes (see SharedLocks): a token, false when a peer holds it, undefined when none can be had. */
  acquireLock(key: string, ttlMs: number, again = false): Promise<string | false | undefined> {
    return this.#locks.acquire(key, ttlMs, again)
  }

  releaseLock(key: string, token: string): Promise<unknown> {
    return this.#locks.release(key, token)
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
    this.invalidations.ledger.close()
    this.#local.close()
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
    this.#lastError = explainFailure(asStoreError(error, 'probe'), this.primary)
    this.emit('store-error', this.#lastError)
    return this.#lastError
  }

  #recordFailure(error: unknown, operation: string, circuit: Circuit): void {
    this.#lastError = explainFailure(asStoreError(error, operation), this.primary)
    this.emit('store-error', this.#lastError)
    // A store out of memory still answers: refused writes go to the fallback, the circuit stays closed.
    if (this.#lastError.code === 'E_STORE_OOM') return this.#local.refusedBy(this.#lastError)
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

  #now(): number {
    return (this.#options.clock ?? Date.now)()
  }
}
