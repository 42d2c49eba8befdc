import type { Keyv } from 'keyv'
import type { CacheStore } from '../../adapters/contract.js'

/** A Keyv instance used as the store: the adapter inside it, and its keys as the adapter sees them. */
export interface KeyvInside {
  keyv: Keyv
  inner: CacheStore
  /** Keyv prefixes every key with `<namespace>:`; the adapter's own prefix scans need it too. */
  scoped(prefix: string): string
}

/** Looks inside a Keyv instance, or undefined for a plain adapter. */
export function keyvInside(store: object): KeyvInside | undefined {
  // By shape, not instanceof: the app's copy of keyv need not be the library's.
  const keyv = store as Partial<Keyv>
  if (typeof keyv.store !== 'object' || keyv.store === null || typeof keyv.getRaw !== 'function') return undefined
  const namespace = keyv.namespace
  return { keyv: keyv as Keyv, inner: keyv.store as CacheStore, scoped: (prefix) => (namespace ? `${namespace}:${prefix}` : prefix) }
}
