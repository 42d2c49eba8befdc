/**
 * The process around the service (server.ts main()): what it does when it cannot listen, when
 * signals come twice, and when the configuration is refused. The children run under tap's own
 * loaders (`traced`) so their coverage counts; process.test.ts runs the process as `npm start` does.
 */
import { createServer, type Server } from 'node:net'
import t, { type Test } from 'tap'
import { listening, spawnServer, TRACED_START_MS } from './support.js'

const SMALL = { ENERGY_AGENTS: '48', ENERGY_THREADS: '1' }

/** A port held by another listener for the whole test. */
async function takenPort(t: Test): Promise<number> {
  const holder: Server = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())))
  return (holder.address() as { port: number }).port
}

t.test('a port already taken: one fatal line naming the port and the cause, then exit 1', async (t) => {
  const port = await takenPort(t)
  const server = spawnServer(t, { ...SMALL, PORT: String(port) }, { traced: true })
  const { code } = await server.exited
  t.equal(code, 1, 'exit code 1')
  const events = server.logs().map((l) => l.event)
  t.notOk(events.includes('listening'), 'never claimed to listen')
  const failed = server.logs().find((l) => l.event === 'listen_failed')
  t.match(failed, { level: 60, port, err: { code: 'EADDRINUSE' } }, 'fatal, with the port and the error')
  t.match(failed?.msg, new RegExp(`^cannot listen on port ${port}: `))
  t.same(server.stderr(), '', 'nothing beside the JSON log')
})

t.test('SIGTERM and SIGINT together: one shutdown, one stop, exit 0', async (t) => {
  const server = spawnServer(t, { ...SMALL, PORT: '0' }, { traced: true })
  await listening(server, TRACED_START_MS)
  process.kill(server.pid, 'SIGTERM')
  process.kill(server.pid, 'SIGINT')
  const { code } = await server.exited
  t.equal(code, 0, 'exit code 0')
  const shutdowns = server.logs().filter((l) => l.event === 'shutdown')
  t.equal(shutdowns.length, 1, 'the second signal does not start a second shutdown')
  t.equal(server.logs().filter((l) => l.event === 'stopped').length, 1, 'stopped once')
  t.equal(server.logs().at(-1)?.event, 'stopped', 'the last line says it stopped')
})

t.test('a refused configuration: exit 1, one line naming the variable, no log', async (t) => {
  const server = spawnServer(t, { ...SMALL, PORT: '0', ENERGY_TIMEOUT_MS: 'soon' }, { traced: true })
  const { code } = await server.exited
  t.equal(code, 1)
  t.match(server.stderr().trim(), /^energy API not started: ENERGY_TIMEOUT_MS must be /)
  t.equal(server.stderr().trim().split('\n').length, 1, 'one line')
  t.same(server.lines, [], 'nothing started, nothing logged')
})
