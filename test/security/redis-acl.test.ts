/**
 * A Redis user with a password and only the commands the cache needs (the ACL SETUSER line in
 * README.md, run as written), on a real server: every cache operation works, the recovery probe
 * works after an outage (issue 17, item 2), a refused probe is logged with its reason, and a wrong
 * password is a clear E_STORE_AUTH that never shows the password.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { eventually, harness, quietLogger } from '../cache/harness.js'
import { ROOT } from '../energy/support.js'
import { redisCall } from '../support/probe.js'
import { redisFor, type RedisServer } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

const events = (lines: Array<{ obj: unknown }>, name: string) => lines.filter((l) => (l.obj as { event?: string }).event === name)

/** The README's line with this test's password and namespace, as arguments for ACL SETUSER. */
function readmeAcl(password: string, namespace: string): string[] {
  const line = /^ACL SETUSER .*$/m.exec(readFileSync(`${ROOT}README.md`, 'utf8'))?.[0]
  if (!line) throw new Error('README.md has no ACL SETUSER line')
  return line.replace('>CHANGE-ME', `>${password}`).replace(/~energy([:!])/g, `~${namespace}$1`).split(' ').slice(2)
}

async function aclUser(server: RedisServer, namespace: string): Promise<{ url: string; password: string }> {
  const password = randomBytes(12).toString('hex')
  await redisCall(server.host, server.port, ['ACL', 'SETUSER', ...readmeAcl(password, namespace)] as [string, ...string[]])
  return { url: `redis://cacheuser:${password}@${server.host}:${server.port}`, password }
}

const aclLog = async (server: RedisServer) => (await redisCall(server.host, server.port, ['ACL', 'LOG'])) as unknown[][]

/** How many times Redis refused `command` (ACL LOG entries are flat field/value lists). */
async function refusals(server: RedisServer, command: string): Promise<number> {
  let count = 0
  for (const entry of await aclLog(server)) {
    const fields = new Map<unknown, unknown>()
    for (let i = 0; i < entry.length; i += 2) fields.set(entry[i], entry[i + 1])
    if (fields.get('object') === command) count += Number(fields.get('count'))
  }
  return count
}

t.test('the README ACL user: every operation works, and the cache comes back after an outage', async (t) => {
  const server = await redisFor(t)
  const namespace = `acl${randomBytes(3).toString('hex')}`
  const { url } = await aclUser(server, namespace)
  const logger = quietLogger()
  // Generous budgets: this test is about permissions, and a loaded machine must not turn it into one about time.
  const store = new RedisStore({ url, logger, operationTimeout: 1000 })
  t.equal(await store.ready(), true, 'connects as the restricted user')
  const h = await harness(t, { kind: 'memory', logger, cache: { store, namespace, operationTimeout: 1500, failureThreshold: 2, probeInterval: 200 } })
  const errors: unknown[] = []
  h.cache.on('store-error', (error: unknown) => errors.push(error))

  t.equal((await h.get('/data')).xcache, 'MISS')
  t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT'), 'hits from Redis')
  const health = await h.cache.health()
  t.equal(health.status, 'ok')
  t.ok(health.keys_count! > 0, 'health counts keys (SCAN) and reads memory (INFO)')
  t.ok((await h.cache.invalidate('data')) > 0, 'invalidate works')
  await h.get('/data')
  t.ok(await eventually(async () => (await store.countPrefix(`${namespace}:`)) > 0))
  t.ok((await h.cache.clear()) > 0, 'clear works')
  t.same(errors.map(String), [], 'no store error along the way')
  t.same(await aclLog(server), [], 'Redis refused nothing (ACL LOG is empty)')

  await server.pause()
  for (let i = 0; i < 4 && engineOf(h.cache).store.state === 'closed'; i++) await h.get('/data?down=1')
  t.not(engineOf(h.cache).store.state, 'closed', 'the circuit opened')
  await server.resume()
  t.ok(await eventually(() => engineOf(h.cache).store.state === 'closed', 10_000), 'the probe brings the cache back onto Redis')
  t.same(await aclLog(server), [], 'the probe needed nothing the ACL refuses')
})

t.test('a probe the ACL refuses is logged once with its reason', async (t) => {
  const server = await redisFor(t)
  const namespace = `acl${randomBytes(3).toString('hex')}`
  const { url } = await aclUser(server, namespace)
  const logger = quietLogger()
  const store = new RedisStore({ url, logger })
  await store.ready()
  const h = await harness(t, { kind: 'memory', logger, cache: { store, namespace, failureThreshold: 1, probeInterval: 100 } })
  await redisCall(server.host, server.port, ['ACL', 'SETUSER', 'cacheuser', '-ping'])
  await server.pause()
  await h.get('/data')
  t.not(engineOf(h.cache).store.state, 'closed', 'the circuit opened')
  await server.resume()
  t.ok(await eventually(() => events(logger.lines, 'cache_probe_failed').some((l) => (l.obj as { code?: string }).code === 'E_STORE_NOPERM')), 'the refusal is logged with its code')
  t.ok(await eventually(async () => (await refusals(server, 'ping')) >= 3), 'several probes were refused')
  const refused = events(logger.lines, 'cache_probe_failed').filter((l) => (l.obj as { code?: string }).code === 'E_STORE_NOPERM')
  t.equal(refused.length, 1, 'once per reason, not once per probe')
  t.match(refused[0]?.obj, { cause: { name: 'ReplyError', message: /^NOPERM/ } })
  await redisCall(server.host, server.port, ['ACL', 'SETUSER', 'cacheuser', '+ping'])
  t.ok(await eventually(() => engineOf(h.cache).store.state === 'closed', 10_000), 'back on Redis once the probe is allowed')
})

t.test('a wrong password: E_STORE_AUTH with its cause, and the password nowhere', async (t) => {
  const server = await redisFor(t)
  const namespace = `acl${randomBytes(3).toString('hex')}`
  const { password } = await aclUser(server, namespace)
  const wrong = `${password}-wrong`
  const logger = quietLogger()
  const store = new RedisStore({ url: `redis://cacheuser:${wrong}@${server.host}:${server.port}`, logger, connectTimeout: 500 })
  t.equal(await store.ready(), false, 'never ready')
  t.equal(store.lastError?.code, 'E_STORE_AUTH', 'the client says why')
  const h = await harness(t, { kind: 'memory', logger, cache: { store, namespace, failureThreshold: 1, probeInterval: 100 } })
  t.match(await h.cache.health(), { status: 'degraded', reason: /^E_STORE_AUTH: / }, 'health says why before any request')
  const reply = await h.get('/data')
  t.equal(reply.status, 200, 'the request is served from the fallback')
  t.ok(await eventually(() => events(logger.lines, 'cache_store_down').length === 1))
  t.match(events(logger.lines, 'cache_store_down')[0]?.obj, { code: 'E_STORE_AUTH' }, 'the circuit log names the cause')
  const health = await h.cache.health()
  t.match(health.reason, /^E_STORE_AUTH: .*WRONGPASS/)
  const everything = JSON.stringify([logger.lines, health, store.opts, String(store.lastError), store.lastError?.message])
  t.notOk(everything.includes(password), 'the password appears in no log line, health or error')
})
