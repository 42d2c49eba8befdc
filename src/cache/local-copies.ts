import type { CacheStore, Logger } from '../../adapters/contract.js'
import type { CacheError } from './errors.js'
import { RefusedWrites } from './refused-writes.js'
import { orElse, readMany } from './store-calls.js'
import { probeKey } from './store-probe.js'

export interface LocalCopiesOptions {
  /** True while the primary serves (the store's circuit is closed). */
  serving: () => boolean
  /** The store's time budget around an operation on the primary. */
  bounded: <T>(pending: Promise<T>, name: string) => Promise<T>
  /** The cache's namespace: the test write stays inside it (ACLs may allow no other key). */
  namespace: string | undefined
  probeInterval: number
  logger: Logger
  changed: (state: 'refused' | 'accepted') => void
}

/**
 * The answers a read-only instance keeps locally. A primary that is a replica
 * skips writes, and one out of memory refuses them; while either lasts and the
 * primary still serves reads, each answer is also kept in the fallback and a
 * read the primary misses looks there, so this instance does not compute the
 * same key again on every request.
 */
export class LocalCopies {
  readonly #primary: CacheStore
  readonly #fallback: CacheStore | undefined
  readonly #serving: () => boolean
  readonly #writes: RefusedWrites

  constructor(primary: CacheStore, fallback: CacheStore | undefined, options: LocalCopiesOptions) {
    this.#primary = primary
    this.#fallback = fallback
    this.#serving = options.serving
    // A short-lived write inside the namespace: true once the primary takes writes again.
    const tryWrite = async (): Promise<boolean> => {
      if (!options.serving()) return false
      return (await options.bounded(primary.set(probeKey(options.namespace), '1', 1000), 'probe')) !== false
    }
    this.#writes = new RefusedWrites(tryWrite, options.probeInterval, options.logger, options.changed)
  }

  /** Why the primary refuses writes while it still serves reads (out of memory), or undefined. */
  get refused(): CacheError | undefined {
    return this.#writes.error
  }

  /** True while the primary serves reads but skips or refuses writes, and a fallback can keep local copies. */
  get kept(): boolean {
    return this.#serving() && this.#fallback !== undefined && (this.#primary.readOnly === true || this.#writes.error !== undefined)
  }

  /** The primary refused a write (out of memory): answers are kept locally until it takes one again. */
  refusedBy(error: CacheError): void {
    this.#writes.refused(error)
  }

  /** The primary took a write. */
  accepted(): void {
    this.#writes.accepted()
  }

  /** Keeps an answer the primary did not store; false when no copy is kept. */
  keep(key: string, value: unknown, ttl: number): Promise<boolean> | false {
    if (!this.kept) return false
    return orElse(this.#fallback!.set(key, value, ttl).then((ok: unknown) => ok !== false), false)
  }

  /** Fills what the primary missed from the local copies. */
  async fill(keys: string[], values: unknown[]): Promise<unknown[]> {
    if (values.every((value) => value !== undefined)) return values
    const local = await orElse(readMany(this.#fallback!, keys), [] as unknown[])
    return values.map((value, i) => value ?? local[i])
  }

  close(): void {
    this.#writes.close()
  }
}
