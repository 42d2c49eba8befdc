import { LRUCache } from 'lru-cache'
import type { Plan } from './engine-types.js'
import { bucketEndMs } from './keys.js'

/**
 * What this process learns of computation times, and what it decides from them: how long the
 * shared lock is taken for, and when a request warms the next bucket. Both maps are bounded:
 * names come from routes, but a cache mounted on paths sees as many keys as clients care to send.
 */
export class ComputeTiming {
  /** Observed computation time per route name (a moving average). */
  readonly #ms = new LRUCache<string, number>({ max: 1000 })
  /** Next-bucket keys warmed in this process, so each is warmed once. */
  readonly #warmed = new LRUCache<string, number>({ max: 10_000 })

  observe(name: string, ms: number): void {
    const before = this.#ms.get(name)
    this.#ms.set(name, before === undefined ? ms : 0.7 * before + 0.3 * ms)
  }

  /** Long enough to cover a computation (three times the observed time, at least 10 s), at most 5 min. */
  lockTtl(name: string): number {
    return Math.min(300_000, Math.max(10_000, 3 * (this.#ms.get(name) ?? 0)))
  }

  /**
   * Whether a request for `plan` should compute the next bucket now: warm is
   * on, the bucket ends within the lead time (observed computation time with
   * margin), and this process has not warmed that key yet (nor is computing it: `running`).
   */
  shouldWarm(plan: Plan, now: number, running: (key: string) => boolean): boolean {
    if (!plan.route.warm || this.#warmed.has(plan.next) || running(plan.next)) return false
    const left = bucketEndMs(plan.bucket, plan.route.windowMs) - now
    const lead = Math.min(plan.route.windowMs / 2, 2 * (this.#ms.get(plan.name) ?? 0) + 1000)
    if (left > lead) return false
    this.#warmed.set(plan.next, plan.bucket + 1)
    for (const [key, bucket] of [...this.#warmed.entries()]) if (bucket <= plan.bucket) this.#warmed.delete(key)
    return true
  }

  /** Invalidated keys: a later request may warm them again. */
  forget(match: (key: string) => boolean): void {
    for (const key of this.#warmed.keys()) if (match(key)) this.#warmed.delete(key)
  }
}
