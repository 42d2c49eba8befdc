/**
 * Every option, table-driven (issue 15): each bad value is refused at construction with an
 * OptionError naming the option, and each good value resolves. The tables are typed by the
 * options interfaces, so an option added without its row here does not compile.
 */
import Keyv from 'keyv'
import t, { type Test } from 'tap'
import { consoleLogger } from '../../adapters/contract.js'
import { MemoryStore, type MemoryStoreOptions } from '../../adapters/memory.js'
import { resolveCacheOptions, resolveRoute, type CacheOptions, type RouteOptions } from '../../src/cache/options.js'
import { OptionError } from '../../src/index.js'
import { thrownAtOnce } from '../support/thrown.js'

/** Per option: values that resolve, and values refused (with the option the error must name, when it is not the option itself). */
interface Row<O> {
  good: Array<Partial<O>>
  bad: Array<[Partial<O>, string?]>
}

const N = Number.NaN

const CACHE_OPTIONS: { [K in keyof CacheOptions]-?: Row<CacheOptions> } = {
  store: { good: [{ store: new MemoryStore() }, { store: new Keyv() }], bad: [[{ store: 'redis://127.0.0.1:6379' as never }], [{ store: {} as never }], [{ store: null as never }], [{ store: 42 as never }]] },
  fallback: { good: [{ fallback: false }, { fallback: new MemoryStore() }], bad: [[{ fallback: true as never }], [{ fallback: 'memory' as never }], [{ fallback: { get() {} } as never }]] },
  namespace: { good: [{ namespace: 'energy' }, { namespace: 'a.b_c-1' }, { namespace: 'x'.repeat(64) }], bad: [[{ namespace: '' }], [{ namespace: 'a:b' }], [{ namespace: 'a b' }], [{ namespace: '{x}' }], [{ namespace: 'x'.repeat(65) }], [{ namespace: 42 as never }]] },
  clock: { good: [{ clock: () => 1 }], bad: [[{ clock: 'now' as never }], [{ clock: 1 as never }]] },
  operationTimeout: { good: [{ operationTimeout: 1 }, { operationTimeout: 0.5 }], bad: [[{ operationTimeout: 0 }], [{ operationTimeout: -1 }], [{ operationTimeout: N }], [{ operationTimeout: Infinity }], [{ operationTimeout: '150' as never }]] },
  failureThreshold: { good: [{ failureThreshold: 1 }, { failureThreshold: 10 }], bad: [[{ failureThreshold: 0 }], [{ failureThreshold: 1.5 }], [{ failureThreshold: -3 }], [{ failureThreshold: '3' as never }]] },
  probeInterval: { good: [{ probeInterval: 1 }, { probeInterval: 1000 }], bad: [[{ probeInterval: 0 }], [{ probeInterval: -5 }], [{ probeInterval: N }], [{ probeInterval: 'x' as never }]] },
  hashTag: { good: [{ hashTag: true }, { hashTag: false }], bad: [[{ hashTag: 'yes' as never }], [{ hashTag: 1 as never }]] },
  logger: { good: [{ logger: { warn() {} } }, { logger: console }], bad: [[{ logger: 'console' as never }], [{ logger: {} as never }], [{ logger: { warn: 1 } as never }]] },
  l1: {
    good: [{ l1: { maxBytes: 1024 } }, { l1: { maxBytes: 1, maxEntries: 10 } }],
    bad: [[{ l1: 'big' as never }], [{ l1: null as never }], [{ l1: {} as never }, 'l1.maxBytes'], [{ l1: { maxBytes: 0.5 } }, 'l1.maxBytes'], [{ l1: { maxBytes: 1024, maxEntries: 0 } }, 'l1.maxEntries'], [{ l1: { maxBytes: 1024, max: 1 } as never }, 'l1.max']],
  },
}

const ROUTE_OPTIONS: { [K in keyof RouteOptions]-?: Row<RouteOptions> } = {
  window: { good: [{ window: 30 }, { window: 0.5 }], bad: [[{ window: 0 }], [{ window: -1 }], [{ window: N }], [{ window: Infinity }], [{ window: '30' as never }], [{ window: undefined as never }]] },
  name: { good: [{ name: 'gradient' }, { name: '/users/:id' }], bad: [[{ name: '' }], [{ name: 42 as never }]] },
  stale: { good: [{ stale: 0 }, { stale: 60 }], bad: [[{ stale: -1 }], [{ stale: N }], [{ stale: '5' as never }]] },
  errorTtl: { good: [{ errorTtl: 0 }, { errorTtl: 10 }], bad: [[{ errorTtl: -1 }], [{ errorTtl: Infinity }], [{ errorTtl: true as never }]] },
  query: { good: [{ query: true }, { query: false }, { query: ['page'] }], bad: [[{ query: 'page' as never }], [{ query: [''] }], [{ query: [1] as never }]] },
  vary: { good: [{ vary: [] }, { vary: ['Accept-Language'] }], bad: [[{ vary: 'accept' as never }], [{ vary: ['bad header'] }, 'vary[0]'], [{ vary: [42] as never }, 'vary[0]']] },
  shared: { good: [{ shared: false }, { shared: true, vary: ['authorization'] }], bad: [[{ shared: 'yes' as never }], [{ shared: true }, 'vary']] },
  ignoreCredentials: { good: [{ ignoreCredentials: true }, { ignoreCredentials: false }], bad: [[{ ignoreCredentials: 1 as never }], [{ ignoreCredentials: true, shared: true, vary: ['cookie'] }]] },
  warm: { good: [{ warm: true }, { warm: false }], bad: [[{ warm: 'on' as never }]] },
  maxBodyBytes: { good: [{ maxBodyBytes: 1 }, { maxBodyBytes: 2 ** 20 }], bad: [[{ maxBodyBytes: 0 }], [{ maxBodyBytes: 1.5 }], [{ maxBodyBytes: '1' as never }]] },
  statuses: { good: [{ statuses: [200] }, { statuses: [200, 404, 499] }], bad: [[{ statuses: [500] }], [{ statuses: [199] }], [{ statuses: 200 as never }], [{ statuses: [200.5] }]] },
}

const MEMORY_STORE_OPTIONS: { [K in keyof MemoryStoreOptions]-?: Row<MemoryStoreOptions> } = {
  maxBytes: { good: [{ maxBytes: 1 }, { maxBytes: 2 ** 30 }], bad: [[{ maxBytes: 0 }], [{ maxBytes: 1.5 }], [{ maxBytes: '64' as never }]] },
  maxEntries: { good: [{ maxEntries: 1 }], bad: [[{ maxEntries: 0 }], [{ maxEntries: -1 }], [{ maxEntries: N }]] },
}

function check<O>(t: Test, table: Record<string, Row<O>>, prefix: string, resolve: (options: Partial<O>) => unknown): void {
  for (const [option, { good, bad }] of Object.entries(table)) {
    for (const options of good) t.doesNotThrow(() => resolve(options), `${prefix}${option}: ${JSON.stringify(options)} resolves`)
    for (const [options, named = option] of bad) {
      const error = thrownAtOnce(() => resolve(options))
      t.ok(error instanceof OptionError, `${prefix}${option}: ${String(JSON.stringify(options))} is refused with an OptionError`)
      t.match(error, { code: 'E_OPTION', option: `${prefix}${named}` }, `naming ${prefix}${named}`)
    }
  }
}

t.test('createResponseCache: every option', async (t) => {
  check(t, CACHE_OPTIONS, '', (options) => resolveCacheOptions(options))
})

t.test('cache.route: every option', async (t) => {
  check(t, ROUTE_OPTIONS, 'route.', (options) => resolveRoute({ window: 30, ...options }))
})

t.test('MemoryStore: every option', async (t) => {
  check(t, MEMORY_STORE_OPTIONS, 'MemoryStore.', (options) => new MemoryStore(options))
})

t.test('defaults resolve to what the option types say', async (t) => {
  const resolved = resolveCacheOptions({})
  t.match(resolved, { namespace: 'cache', clock: Date.now, operationTimeout: 150, failureThreshold: 3, probeInterval: 1000, hashTag: false, logger: consoleLogger, l1: undefined })
  t.ok(resolved.store instanceof MemoryStore && resolved.fallback instanceof MemoryStore, 'a MemoryStore, and a MemoryStore fallback')
  t.equal(resolveCacheOptions({ fallback: false }).fallback, undefined)
  t.equal(resolveCacheOptions({ store: Object.assign(new MemoryStore(), { cluster: true }) }).hashTag, true, 'hash tags on a Cluster store')
  t.match(resolveCacheOptions({ l1: { maxBytes: 1 } }).l1, { maxEntries: 10_000 })
  const route = resolveRoute({ window: 30 })
  t.match(route, { windowMs: 30_000, staleMs: 30_000, errorTtlMs: 10_000, query: true, vary: [], shared: false, ignoreCredentials: false, warm: false, maxBodyBytes: 2 ** 20 })
  t.same([...route.statuses], [200, 203, 204])
})
