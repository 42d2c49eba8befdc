import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import Keyv from 'keyv'
import t, { type Test } from 'tap'
import { RedisStore, redisOptionsFromEnv, type RedisStoreOptions } from '../../adapters/redis.js'
import type { Logger } from '../../adapters/contract.js'
import { storeConformance } from '../conformance/suite.js'
import { freePort, waitUntil } from '../support/probe.js'
import { redisFor, startRedis } from '../support/redis.js'

const server = await startRedis()
t.teardown(() => server.stop())
const { url, host, port } = server
const owned = !process.env.TEST_REDIS_URL // pause/kill/restart/args need a server we started
const quiet: Logger = { warn() {} }
const SECRET = 'hunter2-Secret'

// A roomy operation timeout: the suite is about what the store does, not its latency on a busy machine.
storeConformance(t, { make: () => new RedisStore({ url, operationTimeout: 1_000 }), rawBinary: true })

/** A store closed at the end of the test; a roomy operation timeout unless the test is about it. */
function store(t: Test, options: RedisStoreOptions): RedisStore {
  const made = new RedisStore({ logger: quiet, operationTimeout: 1_000, ...options })
  t.teardown(() => made.disconnect())
  return made
}

/**
 * A store once connected: with no offline queue a first command can outrun the connection on a
 * busy machine ("Stream isn't writeable"), and the tests using this are about what comes after.
 */
async function connectedStore(t: Test, options: RedisStoreOptions): Promise<RedisStore> {
  const made = store(t, options)
  t.equal(await made.ready(), true, 'the store is connected')
  return made
}

/** A plain ioredis client to look at the server behind the store's back. */
function raw(t: Test, target: string, db = 0): Redis {
  const client = new Redis(target, { db, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  return client
}

const key = (label: string): string => `redis-test:${label}:${randomUUID()}`

t.test('built from url, from host/port/db, and from a url with a db path', async (t) => {
  const byUrl = store(t, { url })
  t.equal(await byUrl.ready(), true)
  t.equal(byUrl.opts.url, `redis://${host}:${port}`, 'opts.url names the target')
  const k = key('db')
  t.equal(await byUrl.set(k, 'db0'), true)
  t.equal(await byUrl.get(k), 'db0')

  const byHost = await connectedStore(t, { host, port, db: 3 })
  t.equal(await byHost.get(k), undefined, 'db 3 does not see db 0')
  await byHost.set(k, 'db3')
  t.equal(await raw(t, url, 3).get(k), 'db3', 'written into db 3')
  t.equal(await raw(t, url, 0).get(k), 'db0', 'db 0 untouched')

  const byUrlDb = await connectedStore(t, { url: `${url}/4` })
  await byUrlDb.set(k, 'db4')
  t.equal(await raw(t, url, 4).get(k), 'db4', 'the url path selects the db')
})

t.test('built from an existing ioredis client, connected or not', async (t) => {
  const connected = new Redis(url, { db: 5 })
  await connected.ping()
  const fromReady = new RedisStore({ client: connected, logger: quiet })
  t.teardown(() => fromReady.disconnect())
  t.equal(await fromReady.ready(), true, 'an already connected client counts as ready')
  t.equal(fromReady.client, connected)
  t.equal(fromReady.opts.url, `redis://${host}:${port}`)
  const k = key('client')
  await fromReady.set(k, 'via client')
  t.equal(await raw(t, url, 5).get(k), 'via client', 'uses the client and its db')

  const lazy = new Redis(url, { lazyConnect: true })
  const fromLazy = new RedisStore({ client: lazy, logger: quiet })
  t.teardown(() => fromLazy.disconnect())
  await lazy.connect()
  t.equal(await fromLazy.ready(), true)
  t.equal(await fromLazy.get(k), undefined, 'db 0')
  await fromLazy.disconnect()
  await waitUntil('the given client to close', async () => lazy.status === 'end', { timeoutMs: 2_000 })
  t.pass('disconnect closes the client it was given')
})

t.test('from the environment: REDIS_URL, REDIS_HOST/PORT/DB, ACL user and password', async (t) => {
  const admin = raw(t, url)
  const user = `cache-${randomUUID().slice(0, 8)}`
  await admin.call('ACL', 'SETUSER', user, 'on', `>${SECRET}`, '~*', '+@all')
  t.teardown(() => admin.call('ACL', 'DELUSER', user))

  const fromUrl = RedisStore.fromEnv({ REDIS_URL: url }, { logger: quiet })
  t.teardown(() => fromUrl.disconnect())
  t.equal(await fromUrl.ready(), true)

  const env = { REDIS_HOST: host, REDIS_PORT: String(port), REDIS_DB: '6', REDIS_USERNAME: user, REDIS_PASSWORD: SECRET }
  t.match(redisOptionsFromEnv(env), { host, port, db: 6, username: user, password: SECRET })
  const fromParts = RedisStore.fromEnv(env, { logger: quiet })
  t.teardown(() => fromParts.disconnect())
  t.equal(await fromParts.ready(), true)
  t.equal(await fromParts.client.call('ACL', 'WHOAMI'), user, 'authenticated as the ACL user')
  const k = key('env')
  await fromParts.set(k, 'six')
  t.equal(await raw(t, url, 6).get(k), 'six', 'REDIS_DB selected db 6')
  t.notOk(fromParts.opts.url.includes(SECRET), 'opts.url carries no password')

  const wrong = RedisStore.fromEnv({ ...env, REDIS_PASSWORD: 'wrong' }, { logger: quiet, connectTimeout: 300 })
  t.teardown(() => wrong.disconnect())
  t.equal(await wrong.ready(), false, 'a wrong password never becomes ready')
})

t.test('from the environment: REDIS_TLS, REDIS_READONLY, REDIS_SENTINELS', async (t) => {
  t.equal(redisOptionsFromEnv({ REDIS_TLS: 'true' }).tls, true)
  t.equal(redisOptionsFromEnv({ REDIS_TLS: 'off' }).tls, false)
  t.equal(redisOptionsFromEnv({ REDIS_URL: 'rediss://cache.example:6380' }).url, 'rediss://cache.example:6380')
  t.equal(redisOptionsFromEnv({ REDIS_READONLY: 'yes' }).readOnly, true)
  t.equal(redisOptionsFromEnv({ REDIS_READONLY: '0' }).readOnly, false)
  t.same(redisOptionsFromEnv({ REDIS_SENTINELS: 's1:26379, [::1]:26380', REDIS_SENTINEL_NAME: 'main' }), {
    sentinels: [
      { host: 's1', port: 26379 },
      { host: '::1', port: 26380 },
    ],
    sentinelName: 'main',
  })
  t.throws(() => redisOptionsFromEnv({ REDIS_SENTINELS: 's1:26379' }), {
    code: 'E_CONFIG',
    message: /REDIS_SENTINEL_NAME/,
  })

  const readOnly = RedisStore.fromEnv({ REDIS_URL: url, REDIS_READONLY: 'true' }, { logger: quiet })
  t.teardown(() => readOnly.disconnect())
  await readOnly.ready()
  t.equal(readOnly.readOnly, true)
  const k = key('ro')
  t.equal(await readOnly.set(k, 'x'), false, 'forced read-only skips the write')
  t.equal(await raw(t, url).exists(k), 0, 'nothing written')
})

t.test('every RedisStore option is checked at construction, naming it (no client is built for a bad one)', async (t) => {
  const node = { host: '127.0.0.1', port: 6379 }
  const cases: [string, Record<string, unknown>][] = [
    ['RedisStore.host', { host: 'cache host' }],
    ['RedisStore.host', { host: 'redis://cache' }],
    ['RedisStore.username', { url, username: 5 }],
    ['RedisStore.password', { url, password: { secret: SECRET } }],
    ['RedisStore.tls', { url, tls: 'yes' }],
    ['RedisStore.readOnly', { url, readOnly: 'yes' }],
    ['RedisStore.scanCount', { url, scanCount: 1.5 }],
    ['RedisStore.sentinels', { sentinels: 's1:26379', sentinelName: 'main' }],
    ['RedisStore.sentinels', { sentinels: [], sentinelName: 'main' }],
    ['RedisStore.sentinels[0]', { sentinels: [{ host: 's1' }], sentinelName: 'main' }],
    ['RedisStore.sentinelName', { sentinels: [node], sentinelName: '' }],
    ['RedisStore.clusterNodes', { clusterNodes: [] }],
    ['RedisStore.clusterNodes[1]', { clusterNodes: [node, { host: 'x', port: 0 }] }],
    ['RedisStore.logger', { url, logger: 5 }],
    ['RedisStore.client', { client: {} }],
  ]
  for (const [option, options] of cases) {
    t.throws(() => new RedisStore(options as RedisStoreOptions), { code: 'E_OPTION', option }, `${option}: ${JSON.stringify(options).replace(SECRET, '***')}`)
  }
  const store = new RedisStore({ host, port, scanCount: 100, tls: false, readOnly: false, username: 'default', logger: quiet })
  t.teardown(() => store.disconnect())
  t.equal(await store.set(key('checked'), 'v'), true, 'good options still connect')
})

t.test('malformed variables throw E_CONFIG naming the variable, never showing the password', async (t) => {
  const cases: [string, Record<string, string>][] = [
    ['REDIS_PORT', { REDIS_HOST: host, REDIS_PORT: 'abc' }],
    ['REDIS_PORT', { REDIS_HOST: host, REDIS_PORT: '99999' }],
    ['REDIS_DB', { REDIS_HOST: host, REDIS_DB: '-1' }],
    ['REDIS_URL', { REDIS_URL: 'http://x' }],
    ['REDIS_URL', { REDIS_URL: `http://user:${SECRET}@x` }],
    ['REDIS_URL', { REDIS_URL: `redis://user:${SECRET}@x:99999` }],
    ['REDIS_TLS', { REDIS_URL: url, REDIS_TLS: 'maybe' }],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 'host-without-port', REDIS_SENTINEL_NAME: 'main' }],
    // A host that cannot be one used to start the service on a Redis it could never reach.
    ['REDIS_HOST', { REDIS_HOST: 'cache host' }],
    ['REDIS_HOST', { REDIS_HOST: 'redis://cache' }],
    ['REDIS_HOST', { REDIS_HOST: 'cache:6379' }],
  ]
  for (const [variable, env] of cases) {
    const withPassword = { REDIS_PASSWORD: SECRET, ...env }
    for (const build of [() => redisOptionsFromEnv(withPassword), () => RedisStore.fromEnv(withPassword)]) {
      try {
        build()
        t.fail(`${JSON.stringify(env)} should throw`)
      } catch (error) {
        const { code, message } = error as { code?: string; message: string }
        t.equal(code, 'E_CONFIG', `${variable}: code`)
        t.match(message, variable, `${variable}: named in "${message}"`)
        t.notOk(message.includes(SECRET), `${variable}: no password in the message`)
      }
    }
  }
  t.throws(() => new RedisStore({ url, operationTimeout: 0 }), { code: 'E_OPTION', message: /operationTimeout/ })
  for (const good of ['redis', 'redis_1.cache.example', '10.0.0.7', '::1', 'fe80::1%eth0']) {
    t.equal(redisOptionsFromEnv({ REDIS_HOST: good }).host, good, `REDIS_HOST ${good} is a host`)
  }
  t.throws(() => redisOptionsFromEnv({ REDIS_TLS: 'maybe' }), { message: /one of true, false, 1, 0, yes, no, on, off/ }, 'the message lists on and off, which the README uses')
})

t.test('Buffers come back byte for byte; strings stay strings', async (t) => {
  const s = await connectedStore(t, { url })
  const big = Buffer.alloc(1 << 20)
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 9)) & 0xff
  const values = [Buffer.from([0xff]), Buffer.from([0xff, 0x00, 0xfe, 0xff]), Buffer.alloc(0), big]
  for (const [i, value] of values.entries()) {
    const k = key(`buf${i}`)
    await s.set(k, value)
    const back = await s.get<Buffer>(k)
    t.ok(Buffer.isBuffer(back) && back.equals(value), `buffer case ${i}`)
  }
  const u8 = key('u8')
  await s.set(u8, new Uint8Array([0xff, 1, 2]))
  t.same(await s.get(u8), Buffer.from([0xff, 1, 2]), 'a Uint8Array comes back as a Buffer')

  const text = key('text')
  await s.set(text, 'ÿÿ starts with U+00FF')
  t.equal(await s.get(text), 'ÿÿ starts with U+00FF', 'a string starting with ÿ stays a string')
  t.equal(await raw(t, url).get(text), 'ÿÿ starts with U+00FF', 'strings are stored as plain UTF-8')
  t.same(await s.getMany([text, u8]), ['ÿÿ starts with U+00FF', Buffer.from([0xff, 1, 2])], 'getMany decodes too')
})

t.test('TTL is in milliseconds (PX)', async (t) => {
  const s = await connectedStore(t, { url })
  const client = raw(t, url)
  const k = key('ttl')
  await s.set(k, 'v', 5_000)
  const pttl = await client.pttl(k)
  t.ok(pttl > 4_000 && pttl <= 5_000, `PTTL ${pttl} close to 5000`)
  await s.set(k, 'v', 1_500.4)
  const fractional = await client.pttl(k)
  t.ok(fractional > 1_000 && fractional <= 1_501, `fractional TTL rounds up: ${fractional}`)
  await s.set(k, 'v')
  t.equal(await client.pttl(k), -1, 'no TTL: no expiry')
})

t.test('fails fast: hung, killed, then restarted server', { skip: !owned && 'TEST_REDIS_URL' }, async (t) => {
  const own = await redisFor(t)
  const s = store(t, { url: own.url, operationTimeout: 150 })
  t.equal(await s.ready(), true)
  const k = key('fast')
  await s.set(k, 'before')

  await own.pause()
  let started = Date.now()
  await t.rejects(s.get(k), 'a get against a hung server rejects')
  t.ok(Date.now() - started < 2_000, `within the operation timeout (${Date.now() - started} ms)`)
  await own.resume()
  t.equal(await s.get(k), 'before', 'works again once the server answers')

  await own.kill()
  started = Date.now()
  await t.rejects(s.get(k), 'a get against a killed server rejects')
  t.ok(Date.now() - started < 2_000, `promptly (${Date.now() - started} ms)`)
  await t.rejects(s.set(k, 'x'), 'so does a set')

  await own.restart()
  await waitUntil('the same store to reconnect', async () => (await s.set(k, 'after')) === true, { timeoutMs: 5_000 })
  t.equal(await s.get(k), 'after', 'the same store works after restart')
})

t.test('ready(): false within connectTimeout when nothing listens, true on a live server', async (t) => {
  const nobody = await freePort()
  const s = store(t, { host: '127.0.0.1', port: nobody, connectTimeout: 300 })
  const started = Date.now()
  t.equal(await s.ready(), false)
  const took = Date.now() - started
  t.ok(took >= 250 && took < 1_500, `resolved after about connectTimeout (${took} ms)`)
  await t.rejects(s.get(key('none')), 'operations reject rather than hang')
  t.equal(await store(t, { url }).ready(), true)
})

t.test('deletePrefix and clear use SCAN + UNLINK in batches and take the prefix literally', async (t) => {
  const own = owned ? await redisFor(t) : server
  const s = await connectedStore(t, { url: own.url, scanCount: 500 })
  const client = raw(t, own.url)
  const base = randomUUID().slice(0, 8)
  const prefix = `${base}:a*b[`
  const pipeline = client.pipeline()
  for (let i = 0; i < 5000; i++) pipeline.set(`${prefix}${i}`, 'x')
  const decoys = [`${base}:aXXb[1`, `${base}:a*b`, `${base}:a*c[1`, `${base}:a?b[1`, `${base}:A*b[1`]
  for (const decoy of decoys) pipeline.set(decoy, 'decoy')
  await pipeline.exec()

  t.equal(await s.countPrefix(prefix), 5000)
  t.equal(await s.countPrefix(`${base}:`), 5000 + decoys.length)
  if (owned) await client.config('RESETSTAT')
  t.equal(await s.deletePrefix(prefix), 5000, 'every key under the prefix went')
  t.equal(await s.countPrefix(prefix), 0)
  t.same(await client.mget(...decoys), decoys.map(() => 'decoy'), 'glob specials matched only themselves')
  if (owned) {
    const stats = await client.info('commandstats')
    const calls = (command: string): number => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
    t.ok(calls('unlink') >= 5, `UNLINK in batches (${calls('unlink')} calls)`)
    t.ok(calls('scan') >= 10, `SCAN in steps (${calls('scan')} calls)`)
    t.equal(calls('keys'), 0, 'never KEYS')
  }

  const ns = `${base}:ns*[`
  s.namespace = ns
  await client.set(`${ns}:1`, 'x')
  await client.set(`${ns}X:1`, 'other namespace')
  await s.clear()
  t.equal(await client.exists(`${ns}:1`), 0, 'clear() removed its namespace')
  t.equal(await client.get(`${ns}X:1`), 'other namespace', 'and nothing else')

  const db9 = await connectedStore(t, { url: own.url, db: 9 })
  await db9.set('only-in-9', 'x')
  await db9.clear()
  t.equal(await raw(t, own.url, 9).dbsize(), 0, 'clear() without a namespace empties its own db')
  t.equal(await client.get(`${ns}X:1`), 'other namespace', 'other dbs untouched')
})

t.test('the Keyv iterator walks the namespace by SCAN', async (t) => {
  const keyv = new Keyv({ store: await connectedStore(t, { url }), namespace: `it${randomUUID().slice(0, 8)}` })
  t.teardown(() => keyv.disconnect())
  await keyv.set('a', 1)
  await keyv.set('b', { two: 2 })
  const seen: Record<string, unknown> = {}
  for await (const [k, v] of keyv.iterator!(keyv.namespace)) seen[k as string] = v
  t.same(seen, { a: 1, b: { two: 2 } })
})

t.test('info(): role, DBSIZE and INFO memory', { skip: !owned && 'TEST_REDIS_URL' }, async (t) => {
  const own = await redisFor(t, { args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] })
  const s = await connectedStore(t, { url: own.url })
  for (const k of ['a', 'b', 'c']) await s.set(k, 'v')
  const info = await s.info()
  t.match(info, { backend: 'redis', role: 'master', readOnly: false, keys: 3 })
  t.equal(info.keys, await raw(t, own.url).dbsize(), 'keys is DBSIZE')
  t.equal(info.memory.max, 64 * 2 ** 20)
  t.equal(info.memory.policy, 'allkeys-lru')
  t.ok(info.memory.used > 0, `used ${info.memory.used}`)
})

t.test('commands issued before the first connection wait for it instead of failing', async (t) => {
  const client = raw(t, url)
  const ns = `early${randomUUID().slice(0, 8)}`
  const [k, gone, generation, lock] = [`${ns}:k`, `${ns}:gone`, `${ns}:gen`, `${ns}:lock`]
  await client.set(k, 'v')
  await client.set(gone, 'x')
  // Every call below starts before the store has connected: with no offline queue each would fail
  // at once ("Stream isn't writeable") if it did not wait for the first connection.
  const s = store(t, { url })
  const entries = (async () => {
    const seen: [string, unknown][] = []
    for await (const entry of s.iterator(ns)) seen.push(entry)
    return seen
  })()
  const [pong, many, has, count, info, token, deleted] = await Promise.all([
    s.ping(),
    s.getMany([k, `${ns}:missing`]),
    s.has(k),
    s.countPrefix(`${ns}:`),
    s.info(),
    s.acquireLock(lock, 5_000),
    s.deleteMany([gone]),
    s.bumpGenerations([generation], 5_000),
  ])
  t.equal(pong, undefined, 'ping answered')
  t.same(many, ['v', undefined])
  t.equal(has, true)
  t.equal(count, 2, 'k and gone, counted before the delete ran or after: both existed at the scan')
  t.ok(info.keys >= 1, `info() read DBSIZE (${info.keys})`)
  t.type(token, 'string', 'the lock was taken')
  t.equal(await client.get(lock), token, 'under the token it returned')
  t.equal(deleted, true)
  t.equal(await client.exists(gone), 0)
  t.equal(await client.get(generation), '1', 'the generation moved')
  t.same(await entries, [[k, 'v']], 'the iterator waited too')
})

t.test('against a killed server, writes, deletes and locks reject: failing is the caller\'s decision', { skip: !owned && 'TEST_REDIS_URL' }, async (t) => {
  const own = await redisFor(t)
  const s = await connectedStore(t, { url: own.url, operationTimeout: 300 })
  const k = key('down')
  await s.set(k, 'v')
  await own.kill()
  await t.rejects(s.delete(k), 'delete')
  await t.rejects(s.deleteMany([k, key('other')]), 'deleteMany')
  await t.rejects(s.deletePrefix('redis-test:down:'), 'deletePrefix')
  await t.rejects(s.setIfGenerations(k, 'w', 1_000, [key('gen')], ['']), 'setIfGenerations')
  await t.rejects(s.acquireLock(key('lock'), 1_000), 'acquireLock')
  t.equal(s.readOnly, false, 'none of these errors made it read-only')
  t.equal(await s.checkRole(), 'master', 'checkRole keeps the last known role when the server is unreachable')
})

t.test('option shapes a JavaScript caller can get wrong are refused naming the option', async (t) => {
  t.throws(() => new RedisStore(null as unknown as RedisStoreOptions), { code: 'E_OPTION', message: /RedisStore options/ })
  t.throws(() => new RedisStore({ host: '' }), { code: 'E_OPTION', message: /RedisStore\.host/ })
  t.throws(() => new RedisStore({ host: 42 as unknown as string }), { code: 'E_OPTION', message: /RedisStore\.host/ })
  t.throws(() => new RedisStore({ url: 6379 as unknown as string }), { code: 'E_OPTION', message: /RedisStore\.url.*6379/ })
  t.throws(() => new RedisStore({ port: 0 }), { code: 'E_OPTION', message: /RedisStore\.port/ })
  t.throws(() => new RedisStore({ db: 1.5 }), { code: 'E_OPTION', message: /RedisStore\.db/ })
})

t.test('opts.url names the target for every way of giving one, never with credentials', async (t) => {
  const nobody = await freePort()
  const target = (options: RedisStoreOptions): string => store(t, { connectTimeout: 200, ...options }).opts.url
  t.equal(target({ port: nobody }), `redis://127.0.0.1:${nobody}`, 'host defaults to 127.0.0.1')
  t.equal(target({ host: '127.0.0.1', port: nobody, tls: { rejectUnauthorized: true } }), `rediss://127.0.0.1:${nobody}`, 'TLS options on host/port: rediss://')
  t.equal(target({ url: `redis://user:${SECRET}@127.0.0.1:${nobody}`, tls: true }), `rediss://127.0.0.1:${nobody}`, 'TLS on a redis:// URL, and no password')
  t.equal(target({ sentinels: [{ host: '127.0.0.1', port: nobody }] }), 'redis-sentinel://mymaster', 'the Sentinel name defaults to mymaster')
  const client = new Redis(url, { lazyConnect: true })
  t.equal(target({ client }), `redis://${host}:${port}`, 'a client handed in is named by its own address')
})

t.test('REDIS_TLS_KEY without REDIS_TLS_CERT, and a file that is not PEM, stop start-up naming the variable', async (t) => {
  const dir = t.testdir({ 'key.pem': '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n', 'notes.txt': 'not a certificate' })
  t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS_KEY: `${dir}/key.pem` }), { code: 'E_CONFIG', message: /^REDIS_TLS_CERT must be set together with REDIS_TLS_KEY/ })
  t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS_CA: `${dir}/notes.txt` }), { code: 'E_CONFIG', message: /^REDIS_TLS_CA must be a PEM file/ })
  const missing = t.throws(() => redisOptionsFromEnv({ REDIS_HOST: 'h', REDIS_TLS_CA: `${dir}/absent.pem` }), { code: 'E_CONFIG', message: /^REDIS_TLS_CA must be a readable PEM file \(ENOENT\)/ })
  t.equal((missing as { cause?: NodeJS.ErrnoException }).cause?.code, 'ENOENT', 'the file error is kept as cause')
})

t.test('a value that is neither a string nor bytes is refused with a coded error', async (t) => {
  const s = await connectedStore(t, { url })
  await t.rejects(s.set(key('number'), 42), { name: 'StoreValueError', code: 'E_STORE_VALUE', message: /got number/ })
  await t.rejects(s.set(key('null'), null), { code: 'E_STORE_VALUE', message: /got null/ })
})

t.test('getMany of no keys is empty without a round trip; the iterator without a namespace walks the db', { skip: !owned && 'TEST_REDIS_URL' }, async (t) => {
  const own = await redisFor(t)
  const s = await connectedStore(t, { url: own.url, db: 2 })
  t.same(await s.getMany([]), [], 'MGET with no keys would be an error reply')
  await raw(t, own.url, 2).mset('a', '1', 'b', '2')
  const seen: Record<string, unknown> = {}
  for await (const [k, v] of s.iterator()) seen[k] = v
  t.same(seen, { a: '1', b: '2' })
})
