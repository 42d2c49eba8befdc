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
