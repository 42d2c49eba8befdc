import { isHost } from './checks.js'
import { ConfigError } from './errors.js'

/**
 * Parsers for environment variables. Each returns undefined when the variable
 * is unset or empty and throws ConfigError naming the variable when it is set
 * but malformed: configuration is checked once, at start-up, never per request.
 */
export type Env = Record<string, string | undefined>

function raw(env: Env, name: string): string | undefined {
  const value = env[name]
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

export function envString(env: Env, name: string): string | undefined {
  return raw(env, name)
}

export function envInt(env: Env, name: string, min: number, max: number): number | undefined {
  const value = raw(env, name)
  if (value === undefined) return undefined
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `an integer from ${min} to ${max}`, value)
  const n = Number(value)
  if (n < min || n > max) throw new ConfigError(name, `an integer from ${min} to ${max}`, value)
  return n
}

export function envPort(env: Env, name: string): number | undefined {
  return envInt(env, name, 1, 65535)
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

export function envBool(env: Env, name: string): boolean | undefined {
  const value = raw(env, name)
  if (value === undefined) return undefined
  const lower = value.toLowerCase()
  if (TRUE.has(lower)) return true
  if (FALSE.has(lower)) return false
  throw new ConfigError(name, 'one of true, false, 1, 0, yes, no, on, off', value)
}

export function envHost(env: Env, name: string): string | undefined {
  const value = raw(env, name)
  if (value === undefined) return undefined
  if (isHost(value)) return value
  throw new ConfigError(name, 'a host name or IP address (no scheme, port or spaces)', value)
}

export interface HostPort {
  host: string
  port: number
}

/** A comma-separated list of host:port pairs, as in REDIS_SENTINELS or REDIS_CLUSTER_NODES. */
export function envHostList(env: Env, name: string): HostPort[] | undefined {
  const value = raw(env, name)
  if (value === undefined) return undefined
  const expected = 'a comma-separated list of host:port'
  return value.split(',').map((item) => {
    const match = /^\s*([^\s:]+|\[[^\]]+\]):(\d{1,5})\s*$/.exec(item)
    const port = match ? Number(match[2]) : 0
    if (!match || port < 1 || port > 65535) throw new ConfigError(name, expected, value)
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
  })
}

export function envUrl(env: Env, name: string, protocols: readonly string[]): URL | undefined {
  const value = raw(env, name)
  if (value === undefined) return undefined
  const schemes = protocols.map((p) => `${p}//`).join(' or ')
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(value)?.[0].toLowerCase()
  if (scheme === undefined || !protocols.includes(scheme)) throw new ConfigError(name, `a URL starting with ${schemes}`, redactUrl(value))
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // The scheme is right, so say what else is wrong rather than repeat the scheme.
    throw new ConfigError(name, `a valid ${scheme}//[user:password@]host[:port][/db] URL (percent-encode / @ : # ? in a password)`, redactUrl(value))
  }
  return url
}

/** Query parameters that may carry a credential in a connection URL. */
const SECRET_PARAMS = /([?&;](?:password|pass|pwd|auth|token|secret)=)[^&;#]*/gi

/**
 * Hides every credential in a URL, well-formed or not, so none reaches a log
 * or an error message: everything between `//` and the LAST `@` but a user
 * name (a password may hold `/`, `:` or `@`), and password-like parameters.
 */
export function redactUrl(value: string): string {
  let out = value
  const start = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0].length ?? 0
  const at = value.lastIndexOf('@')
  if (at >= start) {
    const userinfo = value.slice(start, at)
    const colon = userinfo.indexOf(':')
    // "user@host" in a Redis URL may be a password alone: hide it whole.
    out = `${value.slice(0, start)}${colon === -1 ? '***' : `${userinfo.slice(0, colon)}:***`}${value.slice(at)}`
  }
  return out.replace(SECRET_PARAMS, '$1***')
}
