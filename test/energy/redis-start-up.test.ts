/**
 * The service process against a Redis that refuses it (issue 17, items 3 and 7): the start-up log
 * names the cause with its code, the password appears in no log line, /health or /metrics, and
 * ioredis's own console warnings come out as JSON log lines.
 */
import t from 'tap'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { listening, request, spawnServer, waitFor } from './support.js'

const SMALL = { PORT: '0', ENERGY_AGENTS: '48', ENERGY_THREADS: '1' }

t.test('a wrong password: the start-up line says E_STORE_AUTH, and the password is nowhere', async (t) => {
  const server = await redisFor(t)
  // Set after start: the launcher's readiness check speaks without a password.
  await redisCall(server.host, server.port, ['CONFIG', 'SET', 'requirepass', 'the-right-one'])
  const password = 'wrong-pass-7f3a9c'
  const energy = spawnServer(t, { ...SMALL, REDIS_HOST: server.host, REDIS_PORT: String(server.port), REDIS_PASSWORD: password })
  const { base } = await listening(energy)
  const unreachable = energy.logs().find((l) => l.event === 'redis_unreachable')
  t.match(unreachable, { code: 'E_STORE_AUTH', cause: { name: 'ReplyError', message: /^WRONGPASS/ } }, 'the cause, with its code')
  const answer = await request(base, '/energy/monitor')
  t.equal(answer.status, 200, 'requests are served from the fallback')
  const health = await waitFor('health to give the reason', async () => {
    // The circuit opens after a few failed operations: requests make them.
    t.equal((await request(base, '/energy/monitor')).status, 200)
    const h = await request(base, '/health')
    return h.json?.reason ? h : undefined
  })
  t.match(health.json, { status: 'degraded', reason: /^E_STORE_AUTH/ })
  const metrics = await request(base, '/metrics')
  const everything = [...energy.lines, energy.stderr(), health.text, metrics.text].join('\n')
  t.notOk(everything.includes(password), 'the password appears in no log line, /health or /metrics')
})

t.test("ioredis's console warnings go through the JSON logger", async (t) => {
  const server = await redisFor(t)
  // A password for a server that needs none: ioredis prints a [WARN] line with console.warn.
  const energy = spawnServer(t, { ...SMALL, REDIS_URL: `redis://:unneeded-secret@${server.host}:${server.port}` })
  await listening(energy)
  const warning = await waitFor('the library warning', async () => energy.logs().find((l) => l.event === 'library_warning'))
  t.match(warning, { level: 40, msg: /does not require a password/ })
  t.notMatch(energy.stderr(), /\[WARN\]/, 'nothing printed beside the log')
  t.same(energy.lines.filter((line) => !line.startsWith('{')), [], 'stdout is JSON lines only')
  t.notOk(energy.lines.join('\n').includes('unneeded-secret'))
})
