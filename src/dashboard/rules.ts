import { OptionError } from '../index.js'

/**
 * Alert rules and their options. Every rule can be turned off with `false`;
 * a partial object keeps the defaults of the fields it leaves out.
 */
export interface AlertRules {
  /** Hit rate (hits and stale answers over cacheable lookups) below `below` over `windowMs`, once at least `minLookups` were made. */
  hitRate: false | { below: number; windowMs: number; minLookups: number }
  /** The store has been degraded (circuit not closed: serving from the fallback) for `forMs`. */
  degraded: false | { forMs: number }
  /** Redis is read-only (a replica) and computations ran within `windowMs`: their answers were not shared. */
  readOnlyWrites: false | { windowMs: number }
  /** Redis used memory above `above` (a share) of maxmemory. */
  memory: false | { above: number }
  /** A route's computation p99 (recent computations, one within `windowMs`) above `aboveMs`. */
  computeP99: false | { aboveMs: number; windowMs: number }
  /** More than `perMinute` failed store operations per minute over `windowMs`. */
  storeErrors: false | { perMinute: number; windowMs: number }
}

export type AlertName = keyof AlertRules

/** @default for each rule; tuned for the energy service (answers in seconds, 30 s deadline). */
export const DEFAULT_RULES: { [K in AlertName]: Exclude<AlertRules[K], false> } = {
  hitRate: { below: 0.5, windowMs: 5 * 60_000, minLookups: 50 },
  degraded: { forMs: 30_000 },
  readOnlyWrites: { windowMs: 60_000 },
  memory: { above: 0.9 },
  computeP99: { aboveMs: 20_000, windowMs: 5 * 60_000 },
  storeErrors: { perMinute: 30, windowMs: 60_000 },
}

export type AlertRuleOptions = { [K in AlertName]?: false | Partial<Exclude<AlertRules[K], false>> }

/** Upper bounds of each field, checked once: a share is at most 1, a duration at most a day. */
const LIMITS: Record<string, number> = {
  below: 1, above: 1, windowMs: 86_400_000, forMs: 86_400_000, minLookups: 1e9, aboveMs: 86_400_000, perMinute: 1e9,
}

/** Resolves rule options against the defaults; a bad field throws OptionError naming it (`alerts.hitRate.below`). */
export function resolveRules(options: AlertRuleOptions | false | undefined): AlertRules {
  const rules = {} as Record<AlertName, unknown>
  for (const name of Object.keys(DEFAULT_RULES) as AlertName[]) {
    const given = options === false ? false : options?.[name]
    if (given === false) {
      rules[name] = false
      continue
    }
    if (given !== undefined && (typeof given !== 'object' || given === null)) throw new OptionError(`alerts.${name}`, 'false or an object', given)
    const rule: Record<string, number> = { ...DEFAULT_RULES[name] }
    for (const [field, value] of Object.entries(given ?? {})) {
      const max = LIMITS[field]
      if (!(field in rule) || max === undefined) throw new OptionError(`alerts.${name}.${field}`, `one of ${Object.keys(rule).join(', ')}`, field)
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
        throw new OptionError(`alerts.${name}.${field}`, `a number from 0 to ${max}`, value)
      }
      rule[field] = value
    }
    rules[name] = rule
  }
  for (const name of Object.keys(options === false ? {} : (options ?? {}))) {
    if (!(name in DEFAULT_RULES)) throw new OptionError(`alerts.${name}`, `one of ${Object.keys(DEFAULT_RULES).join(', ')}`, name)
  }
  return rules as AlertRules
}
