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
  throw new ConfigError(name, 'one of true, false, 1, 0, yes, no', value)
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
  const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, expected, redactUrl(value))
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, expected, redactUrl(value))
  return url
}

/** Hides a password in a URL so it never reaches a log or an error message. */
export function redactUrl(value: string): string {
  return value.replace(/\/\/([^/@]*):[^/@]*@/, '//$1:***@')
}
