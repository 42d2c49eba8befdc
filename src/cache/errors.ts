/**
 * The error catalogue. Every error this project raises on purpose carries a
 * stable `code`, so callers branch on codes, never on message text, and keeps
 * the underlying error as `cause`.
 */
export type ErrorCode =
  | 'E_CONFIG' // a malformed environment variable
  | 'E_OPTION' // a malformed option passed in code
  | 'E_STORE_TIMEOUT' // a store operation took longer than its budget
  | 'E_STORE_UNAVAILABLE' // the store is known to be down (circuit open)
  | 'E_STORE' // the store answered with an error
  | 'E_STORE_PARTIAL' // an invalidation reached only part of the store (a Cluster master down); retried
  | 'E_COMPUTE_TIMEOUT' // a computation ran past its hard timeout

export class CacheError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CacheError'
    this.code = code
  }
}

/** A malformed environment variable; `variable` names it so start-up can say which. */
export class ConfigError extends CacheError {
  readonly variable: string
  constructor(variable: string, expected: string, got: string) {
    super('E_CONFIG', `${variable} must be ${expected}, got ${JSON.stringify(got)}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

/** A malformed option; `option` names it (for example `route.window`). */
export class OptionError extends CacheError {
  readonly option: string
  constructor(option: string, expected: string, got: unknown) {
    super('E_OPTION', `option ${option} must be ${expected}, got ${describe(got)}`)
    this.name = 'OptionError'
    this.option = option
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
