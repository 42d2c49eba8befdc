/** Small pieces the store wrapper calls stores through: time budgets, defaults on failure, reads. */
import type { CacheStore } from '../../adapters/contract.js'
import { CacheError } from './errors.js'

/** The store's answer, or `otherwise` when it throws: a failed read is a miss, a failed write is dropped. */
export async function orElse<T>(promise: Promise<T>, otherwise: T): Promise<T> {
  try {
    return await promise
  } catch {
    return otherwise
  }
}

/** Rejects with E_STORE_TIMEOUT once `ms` have passed; the operation itself runs on. */
export function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CacheError('E_STORE_TIMEOUT', `cache store ${operation} took longer than ${ms} ms`)),
      ms,
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export function readMany(store: CacheStore, keys: string[]): Promise<unknown[]> {
  if (keys.length === 1) return store.get(keys[0]!).then((value) => [value])
  if (typeof store.getMany === 'function') return store.getMany(keys)
  return Promise.all(keys.map((key) => store.get(key)))
}

/**
 * What an adapter throws when an operation reached only part of the store (RedisStore's
 * PartialDeleteError with `removed`, PartialCountError with `counted`): what the rest did.
 */
export type PartialError<F extends string = 'removed'> = Error & { code: 'E_STORE_PARTIAL' } & Record<F, number>

export function isPartial<F extends string = 'removed'>(error: unknown, field: F = 'removed' as F): error is PartialError<F> {
  return error instanceof Error && (error as { code?: unknown }).code === 'E_STORE_PARTIAL' && typeof (error as unknown as Record<string, unknown>)[field] === 'number'
}
