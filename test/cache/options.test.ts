/**
 * Issue 16 item 2 and issue 10's property tests: every bad option throws an OptionError naming it,
 * at construction, with a message that reads well; any value either resolves or is refused so.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { MemoryStore } from '../../adapters/memory.js'
import { createResponseCache, OptionError } from '../../src/index.js'
import { resolveCacheOptions, resolveRoute, type CacheOptions, type RouteOptions } from '../../src/cache/options.js'

function refused(t: Test, run: () => unknown, option: string, message: RegExp): void {
  try {
    run()
    t.fail(`accepted a bad ${option}`)
  } catch (error) {
    t.type(error, OptionError, `${option}: an OptionError`)
    t.equal((error as OptionError).code, 'E_OPTION')
    t.equal((error as OptionError).option, option)
    t.match((error as Error).message, message)
  }
}

t.test('the issue\'s examples: each refused at construction, naming the option', async (t) => {
  const cache = createResponseCache()
  t.teardown(() => cache.close())
  refused(t, () => createResponseCache({ namespace: 'a:b' }), 'namespace', /^option namespace must be 1 to 64 characters .*, got "a:b"$/)
  refused(t, () => cache.route({ window: 30, vary: 'accept' as never }), 'route.vary', /must be an array of header names.*got "accept"/)
  refused(t, () => createResponseCache({ store: 'redis://127.0.0.1:6379' as never }), 'store', /Keyv storage adapter.*new RedisStore\(\{ url \}\).*got "redis:/)
  refused(t, () => createResponseCache({ store: {} as never }), 'store', /with get, set and delete methods, got \{\}$/)
  refused(t, () => createResponseCache({ fallback: { get() {} } as never }), 'fallback', /Keyv storage adapter/)
  refused(t, () => createResponseCache({ logger: 'console' as never }), 'logger', /warn method/)
  refused(t, () => new RedisStore({ url: 'nope' }), 'RedisStore.url', /must be a redis:\/\/ or rediss:\/\/ URL.*got "nope"$/)
  refused(t, () => new RedisStore({ url: 'http://127.0.0.1:6379' }), 'RedisStore.url', /got "http:/)
  refused(t, () => new RedisStore({ port: 99999 }), 'RedisStore.port', /an integer from 1 to 65535, got 99999$/)
  refused(t, () => new RedisStore({ db: -1 }), 'RedisStore.db', /got -1$/)
  refused(t, () => cache.route({ window: Infinity }), 'route.window', /got Infinity$/)
  refused(t, () => cache.route({ window: Number.NaN }), 'route.window', /got NaN$/)
  refused(t, () => cache.route({ window: 30, shared: true }), 'route.vary', /^option route\.vary must be a list naming authorization or cookie \(route\.shared is true\), got \[\]$/)
})

t.test('unknown option keys are reported by name', async (t) => {
  const cache = createResponseCache()
  t.teardown(() => cache.close())
  refused(t, () => cache.route({ windw: 30 } as never), 'route.windw', /^unknown option route\.windw; the options are window, name, /)
  refused(t, () => cache.route({ window: 30, ttl: 60 } as never), 'route.ttl', /unknown option route\.ttl/)
  refused(t, () => createResponseCache({ ttl: 60 } as never), 'ttl', /^unknown option ttl; the options are store, /)
  refused(t, () => new RedisStore({ uri: 'redis://x' } as never), 'RedisStore.uri', /unknown option RedisStore\.uri; the options are url, /)
})

// Values of every kind a caller could pass by mistake, plus the right kinds.
const anyValue = fc.oneof(
  fc.anything(),
  fc.double(),
  fc.constantFrom(Infinity, -Infinity, Number.NaN, 0, -1, 30, 'accept', ['accept'], [200], true, () => 1, new MemoryStore()),
)

function resolvesOrNames(resolve: () => unknown, option: string, value: unknown): void {
  try {
    resolve()
  } catch (error) {
    assert.ok(error instanceof OptionError, `${option}: ${String(error)}`)
    assert.ok(error.option === option || error.option.startsWith(`${option}[`), `${error.option} for ${option}`)
    if (typeof value === 'number' && !error.message.startsWith('unknown')) assert.ok(error.message.endsWith(`got ${value}`), error.message)
  }
}

t.test('any value of a route option either resolves or throws an OptionError naming it', async (t) => {
  const keys: Array<keyof RouteOptions> = ['window', 'name', 'stale', 'errorTtl', 'query', 'vary', 'shared', 'warm', 'maxBodyBytes', 'statuses']
  fc.assert(
    fc.property(fc.constantFrom(...keys), anyValue, (key, value) => {
      // shared: true needs vary; it is the one check that names another option.
      fc.pre(!(key === 'shared' && value === true))
      resolvesOrNames(() => resolveRoute({ window: 30, [key]: value } as RouteOptions), `route.${key}`, value)
    }),
    { numRuns: 2000 },
  )
  t.pass('every value resolved or was refused by name')
})

t.test('any value of a cache option either resolves or throws an OptionError naming it', async (t) => {
  const keys: Array<keyof CacheOptions> = ['store', 'fallback', 'namespace', 'clock', 'operationTimeout', 'failureThreshold', 'probeInterval', 'hashTag', 'logger']
  fc.assert(
    fc.property(fc.constantFrom(...keys), anyValue, (key, value) => {
      resolvesOrNames(() => resolveCacheOptions({ [key]: value } as CacheOptions), key, value)
    }),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), anyValue, (key, value) => {
      fc.pre(!(keys as string[]).includes(key))
      resolvesOrNames(() => resolveCacheOptions({ [key]: value } as CacheOptions), key, value)
    }),
  )
  t.pass('every value resolved or was refused by name')
})
