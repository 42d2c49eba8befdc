import type { CacheStore } from '../../adapters/contract.js'
import type { Circuit } from './circuit.js'
import { readGenerations, setIfGenerations, type Generations } from './generations.js'
import type { LocalCopies } from './local-copies.js'
import { orElse } from './store-calls.js'

/** Generations as read from one store, while the circuit (and the key's node circuit) was in one state. */
export interface GenerationSnapshot extends Generations {
  store: CacheStore
  epoch: number
  /** On a Cluster: the circuit of the node the counters were read from, and its epoch then. */
  node?: { circuit: Circuit; epoch: number }
}

export interface GuardedWritesHooks {
  primary: CacheStore
  /** The store's one circuit. */
  circuit: Circuit
  /** The circuit that stands for a key (on a Cluster, its master's). */
  circuitOf: (key: string) => Circuit
  /** Runs an operation under the store's failure policy (ResilientStore's #withFallback). */
  run: <T>(name: string, operation: (store: CacheStore) => Promise<T>, otherwise: () => T, primaryOnly: boolean, key: string) => Promise<T>
  fallback: CacheStore | undefined
  local: LocalCopies
}

/**
 * Writes guarded by generation counters (see generations.ts): the counters are
 * read before a computation starts, and its entry is stored only if no
 * invalidation moved them since, and only to the store they were read from.
 */
export class GuardedWrites {
  readonly #hooks: GuardedWritesHooks

  constructor(hooks: GuardedWritesHooks) {
    this.#hooks = hooks
  }

  /** Reads generation counters from the store serving now; undefined when no store could answer. */
  async read(keys: string[]): Promise<GenerationSnapshot | undefined> {
    const { circuit: store, circuitOf, run, fallback } = this.#hooks
    const epoch = store.epoch
    // The route's counter shares the entry's hash tag: its node is the entry's.
    const circuit = circuitOf(keys[0]!)
    const node = circuit === store ? undefined : { circuit, epoch: circuit.epoch }
    let from: CacheStore | undefined
    const read = (target: CacheStore): Promise<string[] | undefined> => {
      from = target
      return readGenerations(target, keys)
    }
    // After a failure on this node (the lookup of this very request, often), do not spend a second
    // time budget on the counters: read them where an open circuit would, as the shared lock does.
    const values =
      circuit.failures > 0
        ? fallback && (await orElse(read(fallback), undefined))
        : await run('generations', read, () => undefined, false, keys[0]!)
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
  async write(key: string, value: unknown, ttl: number, read: GenerationSnapshot): Promise<boolean> {
    const { primary, circuit: store, run, local } = this.#hooks
    if (read.store !== primary) {
      const circuit = read.node?.circuit ?? store
      const epoch = read.node?.epoch ?? read.epoch
      if (circuit.epoch !== epoch && circuit.state === 'closed') return false
      return orElse(setIfGenerations(read.store, key, value, ttl, read), false)
    }
    if (read.epoch !== store.epoch || (read.node && read.node.epoch !== read.node.circuit.epoch)) return false
    const stored = await run('set', (target) => setIfGenerations(target, key, value, ttl, read), () => false, true, key)
    if (stored) local.accepted()
    return stored || local.keep(key, value, ttl)
  }
}
