/**
 * TLS against a real redis-server with a TLS port and certificates made in the test (issue 10;
 * issue 17, items 3 and 4): REDIS_TLS_CA / REDIS_TLS_CERT / REDIS_TLS_KEY connect with mutual TLS
 * and the target reads rediss://; a wrong CA or host name fails with E_STORE_TLS and its cause,
 * while the cache answers from its fallback.
 */
import t from 'tap'
import { RedisStore, redisOptionsFromEnv } from '../../adapters/redis.js'
import { describeTarget } from '../../adapters/redis-config.js'
import { eventually, harness, quietLogger } from '../cache/harness.js'
import { detectRedisBackend } from '../support/detect.js'
import { freePort } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { makeCertificates, tlsServerArgs } from '../support/tls.js'

// The certificates are files on this machine: a server in a container could not read them.
if ((await detectRedisBackend({ ignoreUrl: true })) !== 'binary') {
  t.plan(0, 'TLS tests need the redis-server binary (TEST_REDIS_BACKEND=binary)')
} else {
  const certs = await makeCertificates()
  t.teardown(() => certs.remove())
  const tlsPort = await freePort()
  const server = await redisFor(t, { args: tlsServerArgs(certs, tlsPort, 'yes') })
  const tlsEnv = { REDIS_TLS_CA: certs.ca, REDIS_TLS_CERT: certs.clientCert, REDIS_TLS_KEY: certs.clientKey }
  const events = (lines: Array<{ obj: unknown }>, name: string) => lines.filter((l) => (l.obj as { event?: string }).event === name)

  t.test('REDIS_HOST with the TLS files: mutual TLS, and the target says rediss://', async (t) => {
    const options = redisOptionsFromEnv({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(tlsPort), ...tlsEnv })
    t.equal(describeTarget(options), `rediss://127.0.0.1:${tlsPort}`)
    const store = new RedisStore({ ...options, logger: quietLogger() })
    t.teardown(() => store.disconnect())
    t.equal(await store.ready(), true, 'connected over TLS, the server checking our certificate')
    t.equal(store.opts.url, `rediss://127.0.0.1:${tlsPort}`)
    await store.set('tls:key', Buffer.from([1, 2, 3]))
    t.same(await store.get('tls:key'), Buffer.from([1, 2, 3]))
  })

  t.test('rediss:// with REDIS_TLS_CA serves the cache', async (t) => {
    const options = redisOptionsFromEnv({ REDIS_URL: `rediss://127.0.0.1:${tlsPort}`, ...tlsEnv })
    const logger = quietLogger()
    const store = new RedisStore({ ...options, logger })
    t.equal(await store.ready(), true)
    const h = await harness(t, { kind: 'memory', logger, cache: { store } })
    t.equal((await h.get('/data')).xcache, 'MISS')
    t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT'))
    t.ok((await store.countPrefix(`${h.namespace}:`)) > 0, 'the entry is in Redis')
  })

  const failures = [
    { name: 'a wrong CA', tls: { ca: certs.otherCa }, cause: /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/ },
    { name: 'a host name the certificate does not name', tls: { ca: certs.ca, servername: 'redis.example.com' }, cause: /^ERR_TLS_CERT_ALTNAME_INVALID$/ },
  ]
  for (const failure of failures) {
    t.test(`${failure.name}: E_STORE_TLS with its cause, and the cache answers from its fallback`, async (t) => {
      const { readFileSync } = await import('node:fs')
      const logger = quietLogger()
      const tls = { ...failure.tls, ca: readFileSync(failure.tls.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) }
      const store = new RedisStore({ host: '127.0.0.1', port: tlsPort, tls, logger, connectTimeout: 1000 })
      t.equal(await store.ready(), false, 'never connects')
      t.equal(store.lastError?.code, 'E_STORE_TLS')
      t.match((store.lastError?.cause as { code?: string }).code, failure.cause)
      const h = await harness(t, { kind: 'memory', logger, cache: { store, failureThreshold: 1, probeInterval: 100 } })
      const replies = [await h.get('/data'), await h.get('/data')]
      t.same(replies.map((r) => r.status), [200, 200], 'no request failed')
      t.equal(replies[1]!.xcache, 'HIT', 'the fallback serves')
      t.ok(await eventually(() => events(logger.lines, 'cache_store_down').length === 1))
      t.match(events(logger.lines, 'cache_store_down')[0]?.obj, { code: 'E_STORE_TLS', cause: { code: failure.cause } }, 'the log names the TLS cause')
      t.match((await h.cache.health()).reason, /^E_STORE_TLS: /)
    })
  }

  t.test('REDIS_TLS_* mistakes stop start-up naming the variable', async (t) => {
    t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS_CA: '/nonexistent/ca.pem' }), { code: 'E_CONFIG', variable: 'REDIS_TLS_CA' })
    t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS_CERT: certs.clientCert }), { code: 'E_CONFIG', variable: 'REDIS_TLS_KEY' })
    t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS: 'false', REDIS_TLS_CA: certs.ca }), { code: 'E_CONFIG', variable: 'REDIS_TLS' })
    t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS_CA: `${certs.dir}/test-ca.ext-missing` }), { code: 'E_CONFIG', variable: 'REDIS_TLS_CA' })
    t.equal(describeTarget(redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS: 'true' })), 'rediss://h:6379', 'REDIS_TLS=true is named rediss://')
  })
}
