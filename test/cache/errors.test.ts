/**
 * One error catalogue (issue 15): every error the library throws on bad input is a CacheError
 * with a code, a subclass saying what kind it is, and the original as cause when there is one.
 */
import t from 'tap'
import { createDashboard } from '../../src/dashboard/index.js'
import { CacheError, createResponseCache, EntryError, ERROR_CODES, OptionError, cacheKey, keyPrefix } from '../../src/index.js'
import { encodeEntry } from '../../src/cache/entry.js'
import type { ResponseCache } from '../../src/index.js'
import { thrown, thrownAtOnce } from '../support/thrown.js'

t.test('the codes are exported, each with what it means', async (t) => {
  for (const code of ['E_OPTION', 'E_CONFIG', 'E_ENTRY', 'E_STORE_TIMEOUT', 'E_STORE_UNAVAILABLE', 'E_STORE_PARTIAL'] as const) {
    t.type(ERROR_CODES[code], 'string', code)
  }
  t.notOk('E_COMPUTE_TIMEOUT' in ERROR_CODES, "the service's codes are in the service's catalogue")
})

t.test('bad input anywhere in the library is an OptionError naming what was wrong', async (t) => {
  const cases: Array<[string, () => unknown, string]> = [
    ['a namespace with a colon', () => createResponseCache({ namespace: 'a:b' }), 'namespace'],
    ['an empty route name', () => keyPrefix('shop', '', false), 'route name'],
    ['a bucket that is not a safe integer', () => cacheKey('shop:user:', 1.5, ''), 'bucket'],
    ['invalidate with an empty route', () => createResponseCache({ fallback: false }).invalidate(''), 'route name'],
    ['a dashboard on something that is not a cache', () => createDashboard({} as ResponseCache), 'cache'],
  ]
  for (const [why, run, option] of cases) {
    const error = await thrown(run)
    t.ok(error instanceof OptionError && error instanceof CacheError, `${why}: an OptionError`)
    t.match(error, { code: 'E_OPTION', option }, why)
  }
})

t.test('an entry that cannot be replayed is an EntryError', async (t) => {
  const entry = { status: 99, headers: [], body: Buffer.alloc(0), created: 0, bucket: 1 }
  const error = thrownAtOnce(() => encodeEntry(entry))
  t.ok(error instanceof EntryError && error instanceof CacheError, 'an EntryError, so a CacheError')
  t.match(error, { code: 'E_ENTRY' })
})

t.test('the option errors keep the original as cause when there is one', async (t) => {
  const original = new Error('underneath')
  t.equal(new OptionError('x', 'y', 1, { cause: original }).cause, original)
})
