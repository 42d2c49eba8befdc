import { isIP } from 'node:net'
import { OptionError } from './errors.js'

/** Option checks shared by the cache and the adapters: each names the option it refuses. */
export function positive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new OptionError(option, 'a positive number', value)
  return value
}

export function nonNegative(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new OptionError(option, 'a number >= 0', value)
  return value
}

export function positiveInt(value: unknown, option: string): number {
  if (!Number.isInteger(value) || (value as number) <= 0) throw new OptionError(option, 'a positive integer', value)
  return value as number
}

/** Throws an OptionError naming the first key of `options` not in `known` (a typo such as `windw`). */
export function rejectUnknownKeys(options: object, known: readonly string[], prefix: string): void {
  const unknown = Object.keys(options).find((key) => !known.includes(key))
  if (unknown !== undefined) throw OptionError.unknown(prefix + unknown, known)
}

/** A TTL an adapter applies: a finite number of ms above 0; anything else means "no expiry" (Keyv's contract). */
export function hasTtl(ttl: number | undefined): ttl is number {
  return typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0
}

/** A host name (DNS labels; `_` as container names use) or an IP address: never a URL, a port or spaces. */
export function isHost(value: unknown): value is string {
  if (typeof value !== 'string') return false
  return isIP(value.replace(/%[\w.-]+$/, '')) !== 0 || /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(value)
}
