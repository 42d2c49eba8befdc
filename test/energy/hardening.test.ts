/**
 * The energy service against a hostile network: guessed tokens (issue 23, finding 5), slow clients
 * (finding 6), what /metrics and Server-Timing tell (finding 8), malformed requests flooding the log
 * (issue 17, finding 6), and SIGTERM with keep-alive clients (issue 19).
 */
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { captureLogs as capture, manualClock, request, serveInProcess, waitFor } from './support.js'

const TOKEN = 'admin-token-0123456789'

/** A raw connection: what it received, and whether the server closed it. */
function rawSocket(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => void (received += chunk))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => received, closed }
}

t.test('admin: failed tokens logged at warn (rate-limited), a guessing client refused for a while', async (t) => {
  const clock = manualClock()
  const log = capture()
  const { base } = await serveInProcess(t, { ADMIN_TOKEN: TOKEN }, { clock: clock.now, logger: log.logger })
  const del = (token: string) => request(base, '/cache', { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })
  for (let i = 0; i < 10; i++) t.equal((await del(`guess-${i}`)).status, 401)
  const locked = await del(TOKEN)
  t.equal(locked.status, 429, 'after ten failures even the right token waits')
  t.match(locked.headers.get('retry-after'), /^[1-9]\d*$/)
  const warnings = log.lines().filter((l) => l.event === 'auth_failed')
  t.equal(warnings.length, 1, 'one warn line for a burst of failures')
  t.match(warnings[0], { level: 40, realm: 'cache admin', client: String })
  t.notOk(JSON.stringify(log.lines()).includes('guess-'), 'the guesses are not logged')
  clock.advance(2_000)
  t.equal((await del(TOKEN)).status, 200, 'the right token works once the lockout is over')
  t.equal((await del('guess-again')).status, 401, 'and a success starts the count again')
})

t.test('/metrics: METRICS=off removes it, METRICS_TOKEN protects it; SERVER_TIMING=off hides compute time', async (t) => {
  const off = await serveInProcess(t, { METRICS: 'off', SERVER_TIMING: 'off' })
  t.equal((await request(off.base, '/metrics')).status, 404)
  const computed = await request(off.base, '/energy/monitor')
  t.equal(computed.headers.get('x-cache'), 'MISS')
  t.equal(computed.headers.get('server-timing'), null)

  const token = 'metrics-token-0123456789'
  const guarded = await serveInProcess(t, { METRICS_TOKEN: token })
  const anonymous = await request(guarded.base, '/metrics')
  t.equal(anonymous.status, 401)
  t.notMatch(anonymous.text, /nodejs_version_info/)
  const allowed = await request(guarded.base, '/metrics', { headers: { authorization: `Bearer ${token}` } })
  t.equal(allowed.status, 200)
  t.match(allowed.text, /http_requests_total/)
  t.match((await request(guarded.base, '/energy/monitor')).headers.get('server-timing'), /^compute;dur=/, 'on by default')
})

t.test('HTTP limits: timeouts and maxConnections from the environment', async (t) => {
  const { energy } = await serveInProcess(t, {
    HTTP_HEADERS_TIMEOUT_MS: '300',
    HTTP_REQUEST_TIMEOUT_MS: '600',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '2000',
    HTTP_MAX_CONNECTIONS: '2',
  })
  const { server } = energy
  t.match(server, { headersTimeout: 300, requestTimeout: 600, keepAliveTimeout: 2000, maxConnections: 2 })
  const port = (server.address() as { port: number }).port

  // A client trickling its headers is answered 408 and cut off, not held for minutes.
  const slow = rawSocket(port)
  slow.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n')
  const drip = setInterval(() => slow.socket.writable && slow.socket.write('X-Drip: 1\r\n'), 50)
  await slow.closed
  clearInterval(drip)
  t.match(slow.received(), /^HTTP\/1\.1 408 /)

  const held = [rawSocket(port), rawSocket(port)]
  await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))))
  await waitFor('two connections counted', async () => (await new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)))) === 2)
  const third = rawSocket(port)
  third.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
  await third.closed
  t.equal(third.received(), '', 'the connection over the limit was dropped unanswered')
  for (const { socket } of held) socket.destroy()
})

t.test('malformed requests are logged at debug, rate-limited, with the parser code', async (t) => {
  const log = capture('debug')
  const { energy } = await serveInProcess(t, { LOG_LEVEL: 'debug' }, { logger: log.logger, clock: manualClock().now })
  const port = (energy.server.address() as { port: number }).port
  const sockets = Array.from({ length: 30 }, () => {
    const raw = rawSocket(port)
    raw.socket.write('GET /energy/monitor HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n')
    return raw
  })
  await Promise.all(sockets.map((s) => s.closed))
  const errors = log.lines().filter((l) => Number(l.level) >= 50)
  t.same(errors, [], 'nothing at error level')
  const clientErrors = log.lines().filter((l) => l.event === 'client_error')
  t.ok(clientErrors.length >= 1 && clientErrors.length < 5, `${clientErrors.length} client_error lines for 30 bad requests`)
  t.match(clientErrors[0], { level: 20, code: 'HPE_INVALID_METHOD' })
})

t.test('close() lets a request arriving on an idle keep-alive connection finish instead of resetting it', async (t) => {
  const { energy } = await serveInProcess(t, { ENERGY_AGENTS: '1000', ENERGY_THREADS: '1' }, { clock: manualClock().now })
  const port = (energy.server.address() as { port: number }).port
  const idle = rawSocket(port)
  idle.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor('the first answer', async () => idle.received().includes('\r\n\r\n{'))
  const busy = request(`http://127.0.0.1:${port}`, '/energy/gradient') // in flight while shutdown begins
  await waitFor('the gradient in hand', async () => energy.pool.load().running + energy.pool.load().queued === 1, 30_000)

  const closing = energy.close()
  const before = idle.received().length
  idle.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
  await idle.closed
  const second = idle.received().slice(before)
  t.match(second, /^HTTP\/1\.1 503 /, 'answered (503: shutting down) rather than reset')
  t.match(second, /\r\nConnection: close\r\n/i, 'and told the connection closes')
  t.equal((await busy).status, 200, 'the in-flight request finished')
  await closing
})
