/**
 * Fault matrix, part 1 (issue 10): the energy service under steady load while its Redis is
 * killed, hung, restarted with AOF on, and has its connections killed. For each: no failed
 * request, well-formed answers, and the cache back to normal by itself. Part 2 is memory.
 */
import t from 'tap'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { request, sleep, waitFor } from '../energy/support.js'
import { faultUnderLoad, pacedLoad, serviceOn } from './fault-load.js'

// AOF on, fsync per write: a restart brings every entry back.
const server = await redisFor(t, { args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
const service = await serviceOn(t, server)
// One SCAN call covers this small test database.
const namespaceKeys = async () =>
  ((await redisCall(server.host, server.port, ['SCAN', '0', 'MATCH', 'energy:*', 'COUNT', 10_000])) as [string, string[]])[1].sort()

t.test('warm-up: both endpoints cached in Redis', async (t) => {
  const result = await pacedLoad(service.base, 1000)
  t.same(result.failed, [])
  t.ok((await namespaceKeys()).length >= 2)
})

t.test('SIGKILL, then restart: the fallback serves, the circuit closes again', async (t) => {
  const before = service.events('cache_store_down').length
  await faultUnderLoad(t, service, { inject: () => server.kill(), heal: () => server.restart(), holdMs: 1000 })
  t.equal(service.events('cache_store_down').length, before + 1, 'one warning for the outage')
})

t.test('SIGSTOP, then SIGCONT: requests do not wait for the hung server', async (t) => {
  await faultUnderLoad(t, service, { inject: () => server.pause(), heal: () => server.resume(), holdMs: 1500 })
})

t.test('restart with AOF on: the entries are back', async (t) => {
  await waitFor('entries in Redis', async () => (await namespaceKeys()).length >= 2)
  const keys = await namespaceKeys()
  await server.kill()
  await server.restart()
  const back = await namespaceKeys()
  t.same(keys.filter((key) => !back.includes(key)), [], `every one of the ${keys.length} keys is back`)
  const hit = await waitFor('a hit from Redis', async () => {
    const answer = await request(service.base, '/energy/monitor')
    return answer.headers.get('x-cache') === 'HIT' && answer
  })
  t.equal(hit.status, 200)
  await faultUnderLoad(t, service, { inject: async () => {}, holdMs: 0 }, 1500)
})

t.test('CLIENT KILL of the cache connections: the client reconnects', async (t) => {
  const killed: number[] = []
  await faultUnderLoad(t, service, {
    async inject() {
      killed.push(Number(await redisCall(server.host, server.port, ['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'])))
      await sleep(300)
      killed.push(Number(await redisCall(server.host, server.port, ['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'])))
    },
    holdMs: 500,
  })
  t.ok(killed[0]! >= 1, `the cache's connections were killed (${killed.join(', ')})`)
})
