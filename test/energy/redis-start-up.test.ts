/**
 * The service process against a Redis that refuses it (issue 17, items 3 and 7): the start-up log
 * names the cause with its code, the password appears in no log line, /health or /metrics, and
 * ioredis's own console warnings come out as JSON log lines. Traced (support.ts): these are about
 * what the service logs, not about tsx, so their coverage counts.
 */
import t, { type Test } from 'tap'
import { redisCall } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { listening, request, spawnServer, TRACED_START_MS, waitFor, type ServerProcess } from './support.js'

const SMALL = { PORT: '0', ENERGY_AGENTS: '48', ENERGY_THREADS: '1' }

/** SIGTERM and a clean exit (a traced child writes its coverage only when it exits by itself). */
async function stopsCleanly(t: Test, energy: ServerProcess): Promise<void> {
  process.kill(energy.pid, 'SIGTERM')
  t.equal((await energy.exited).code, 0, 'stops cleanly on SIGTERM')
}

t.test('a wrong password: the start-up line says E_STORE_AUTH, and the password is nowhere', async (t) => {
  const server = await redisFor(t)
  // Set after start: the launcher's readiness check speaks without a password.
  await redisCall(server.host, server.port, ['CONFIG', 'SET', 'requirepass', 'the-right-one'])
  const password = 'wrong-pass-7f3a9c'
  const energy = spawnServer(t, { ...SMALL, REDIS_HOST: server.host, REDIS_PORT: String(server.port), REDIS_PASSWORD: password }, { traced: true })
  const { base } = await listening(energy, TRACED_START_MS)
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
  await stopsCleanly(t, energy)
})

t.test("ioredis's console warnings go through the JSON logger", async (t) => {
  const server = await redisFor(t)
  // A password for a server that needs none: ioredis prints a [WARN] line with console.warn.
  const energy = spawnServer(t, { ...SMALL, REDIS_URL: `redis://:unneeded-secret@${server.host}:${server.port}` }, { traced: true })
  await listening(energy, TRACED_START_MS)
  const warning = await waitFor('the library warning', async () => energy.logs().find((l) => l.event === 'library_warning'))
  t.match(warning, { level: 40, msg: /does not require a password/ })
  t.notMatch(energy.stderr(), /\[WARN\]/, 'nothing printed beside the log')
  t.same(energy.lines.filter((line) => !line.startsWith('{')), [], 'stdout is JSON lines only')
  t.notOk(energy.lines.join('\n').includes('unneeded-secret'))
  await stopsCleanly(t, energy)
})
