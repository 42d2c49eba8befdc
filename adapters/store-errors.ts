/**
 * Classifies a store failure into the catalogue's codes, from the codes the
 * failure carries: Node's `code` on socket and TLS errors, and the first word
 * of a Redis error reply (the reply's code by the protocol: WRONGPASS, NOPERM,
 * OOM, READONLY...). Message text is read only for the ioredis errors that
 * carry no code at all ("Command timed out", "Connection is closed.", and the
 * one a command meets while the client reconnects without an offline queue).
 */
import { CacheError, type ErrorCode } from './errors.js'

const REPLY_CODES: Record<string, ErrorCode> = {
  WRONGPASS: 'E_STORE_AUTH',
  NOAUTH: 'E_STORE_AUTH',
  NOPERM: 'E_STORE_NOPERM',
  OOM: 'E_STORE_OOM',
  READONLY: 'E_STORE_READONLY',
  LOADING: 'E_STORE_UNAVAILABLE',
  MASTERDOWN: 'E_STORE_UNAVAILABLE',
  CLUSTERDOWN: 'E_STORE_UNAVAILABLE',
  TRYAGAIN: 'E_STORE_UNAVAILABLE',
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])

/** Node's TLS verification codes (X509 names from OpenSSL, and the ERR_TLS_* / ERR_SSL_* family). */
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
])

/** ioredis's error for a command sent while the connection is down (RedisStore sets no offline queue). */
const NOT_WRITEABLE = "Stream isn't writeable and enableOfflineQueue options is false"

/** The catalogue code for `error`, or undefined when nothing in it says more than "the store failed". */
export function storeErrorCode(error: unknown): ErrorCode | undefined {
  if (error instanceof CacheError) return error.code
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'E_STORE_TLS'
    if (CONNECTION_CODES.has(code)) return 'E_STORE_CONNECTION'
  }
  const name = (error as { name?: unknown }).name
  const message = String((error as { message?: unknown }).message ?? '')
  if (name === 'ReplyError') return REPLY_CODES[message.split(' ', 1)[0]!]
  // ioredis raises these as plain Errors with no code.
  if (message === 'Command timed out') return 'E_STORE_TIMEOUT'
  if (message === 'Connection is closed.' || message === NOT_WRITEABLE) return 'E_STORE_CONNECTION'
  const cause = (error as { cause?: unknown }).cause
  return cause === undefined || cause === error ? undefined : storeErrorCode(cause)
}

/** `error` as a CacheError with the most specific code, the original kept as `cause`. */
export function asStoreError(error: unknown, operation: string): CacheError {
  if (error instanceof CacheError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new CacheError(storeErrorCode(error) ?? 'E_STORE', `cache store ${operation} failed: ${message}`, { cause: error })
}

/**
 * What a log line may say about a store error: message and codes, never the
 * error object itself (whose fields could hold options, and so a password).
 */
export function describeStoreError(error: unknown): { code: string; message: string; cause?: { name: string; code?: string; message: string } } {
  const wrapped = asStoreError(error, 'operation')
  let cause = wrapped.cause
  // The root cause: a CacheError may wrap the client's own (already classified) error.
  while (cause instanceof CacheError && cause.cause !== undefined) cause = cause.cause
  const summary: ReturnType<typeof describeStoreError> = { code: wrapped.code, message: wrapped.message }
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    summary.cause = { name: cause.name, message: cause.message, ...(typeof code === 'string' && { code }) }
  }
  return summary
}
