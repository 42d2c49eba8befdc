/**
 * The error catalogue. Every error this project raises on purpose carries a
 * stable `code`, so callers branch on codes, never on message text, and keeps
 * the underlying error as `cause`.
 */
export const ERROR_CODES = {
  E_CONFIG: 'a malformed environment variable (ConfigError, `variable` names it)',
  E_OPTION: 'a malformed option passed in code (OptionError, `option` names it)',
  E_ENTRY: 'a response that cannot be stored and replayed as it is (EntryError); it is served uncached',
  E_STORE_TIMEOUT: 'a store operation took longer than its budget',
  E_STORE_UNAVAILABLE: 'the store answered that it cannot serve now: loading its data, no master, cluster down, try again',
  E_STORE_CONNECTION: 'the store could not be reached, or the connection dropped',
  E_STORE_AUTH: 'the store refused the credentials (wrong user or password, or none given)',
  E_STORE_TLS: 'the TLS handshake failed (unknown CA, host name mismatch, expired certificate)',
  E_STORE_NOPERM: "the store's ACL refused a command or a key",
  E_STORE_OOM: 'the store is out of memory and refuses writes',
  E_STORE_READONLY: 'the store is a replica and refuses writes',
  E_STORE: 'the store answered with an error',
  E_CLOSED: 'the cache was closed: invalidate(), invalidateKey() and clear() refuse rather than report a removal that did not happen',
  E_STORE_PARTIAL: 'an invalidation reached only part of the store (a Cluster master down); retried',
  E_STORE_VALUE: 'a value the store cannot keep as it is (RedisStore keeps strings and Buffers)',
} as const

/** The library's codes, to switch on (`error.code === 'E_STORE_TIMEOUT'`). */
export type ErrorCode = keyof typeof ERROR_CODES

/**
 * The base of every error the project raises on purpose. `Code` is the library's catalogue by
 * default; the energy service has its own small one on the same base (src/energy/errors.ts).
 */
export class CacheError<Code extends string = ErrorCode> extends Error {
  readonly code: Code
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CacheError'
    this.code = code
  }
}

/** A malformed environment variable; `variable` names it so start-up can say which. */
export class ConfigError extends CacheError {
  readonly variable: string
  constructor(variable: string, expected: string, got: string, options?: { cause?: unknown }) {
    super('E_CONFIG', `${variable} must be ${expected}, got ${JSON.stringify(got)}`, options)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

/** A malformed option; `option` names it (for example `route.window`). */
export class OptionError extends CacheError {
  readonly option: string
  constructor(option: string, expected: string, got: unknown, options?: { cause?: unknown }) {
    super('E_OPTION', `option ${option} must be ${expected}, got ${describe(got)}`, options)
    this.name = 'OptionError'
    this.option = option
  }

  /** An option key nobody reads, most often a typo (`windw`): named, with the keys that exist. */
  static unknown(option: string, known: readonly string[]): OptionError {
    const error = new OptionError(option, '', undefined)
    error.message = `unknown option ${option}; the options are ${known.join(', ')}`
    return error
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  // JSON would print Infinity and NaN as null, and a bigint throws.
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value === 'function') return 'a function'
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
