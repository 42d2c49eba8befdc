import type { CacheStore } from '../../adapters/contract.js'
import { storeErrorCode } from '../../adapters/store-errors.js'
import { CacheError } from './errors.js'

/** Every cache key has `:<bucket>` after its route segment, so no entry is named like this. */
export function probeKey(namespace: string | undefined): string {
  return `${namespace ?? 'cache'}:!probe`
}

/**
 * A command that needs no key when the store has one (PING on Redis), else a
 * read of a key inside the namespace: an ACL that allows only the cache's
 * keys must not keep the circuit open for ever.
 */
export function probeStore(store: CacheStore, namespace: string | undefined): Promise<unknown> {
  if (typeof store.ping === 'function') return store.ping()
  return store.get(probeKey(namespace))
}

/**
 * A command that failed only because the connection is down says nothing of
 * why; the client's own last error (a refused password, a certificate) does.
 */
export function explainFailure(error: CacheError, store: CacheStore): CacheError {
  if (error.code !== 'E_STORE_CONNECTION' && error.code !== 'E_STORE') return error
  const reason = store.lastError
  const code = storeErrorCode(reason)
  if (code === undefined || code === 'E_STORE_CONNECTION' || !(reason instanceof Error)) return error
  return new CacheError(code, `${error.message} (${reason.message})`, { cause: reason })
}
