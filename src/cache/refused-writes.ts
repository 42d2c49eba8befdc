import type { Logger } from '../../adapters/contract.js'
import { describeStoreError } from '../../adapters/store-errors.js'
import type { CacheError } from './errors.js'

/**
 * The state "the store answers reads but refuses writes" (Redis out of memory
 * under noeviction): one warning when it starts, one line when it ends. While
 * it lasts, a test write every `interval` ms notices the end even when every
 * request is a hit and nothing else would write.
 */
export class RefusedWrites {
  #error: CacheError | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #tryWrite: () => Promise<boolean>
  readonly #interval: number
  readonly #logger: Logger
  readonly #changed: (state: 'refused' | 'accepted') => void

  constructor(tryWrite: () => Promise<boolean>, interval: number, logger: Logger, changed: (state: 'refused' | 'accepted') => void) {
    this.#tryWrite = tryWrite
    this.#interval = interval
    this.#logger = logger
    this.#changed = changed
  }

  /** Why writes are refused, or undefined while they are accepted. */
  get error(): CacheError | undefined {
    return this.#error
  }

  refused(error: CacheError): void {
    if (this.#error) return
    this.#error = error
    this.#logger.warn(
      { event: 'cache_store_writes_refused', ...describeStoreError(error) },
      'Cache store refuses writes: answers are kept in local memory until it accepts them again',
    )
    this.#changed('refused')
    this.#schedule()
  }

  accepted(): void {
    if (!this.#error) return
    this.#error = undefined
    this.close()
    this.#logger.info?.({ event: 'cache_store_writes_resumed' }, 'Cache store accepts writes again')
    this.#changed('accepted')
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#check(), this.#interval)
    this.#timer.unref()
  }

  async #check(): Promise<void> {
    this.#timer = undefined
    if (!this.#error) return
    const ok = await this.#tryWrite().catch(() => false)
    if (ok) this.accepted()
    else if (this.#error) this.#schedule()
  }
}
