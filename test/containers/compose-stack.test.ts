/**
 * docker-compose.yml run for real: Redis, its replica and the API image, wired as the file wires
 * them. Building the image takes minutes, so this runs only when KBC_COMPOSE names the compose
 * command (.ci/containers.sh sets it once an engine runs and the images are built); otherwise it
 * is skipped. The stack is taken down with its volume at the end; the built image stays.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { ROOT } from '../energy/support.js'
import { freePort, waitUntil } from '../support/probe.js'

const exec = promisify(execFile)
const command = process.env.KBC_COMPOSE?.split(' ').filter(Boolean) ?? []

async function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await exec(file, args, { cwd: ROOT, env, maxBuffer: 16 * 2 ** 20 })
  return stdout.trim()
}

const docker = (...args: string[]) => run('docker', args)

t.test('the compose stack: health, a HIT, Redis as configured, an unprivileged API that stops cleanly', { skip: command.length === 0 && 'KBC_COMPOSE is not set (.ci/containers.sh sets it)' }, async (t) => {
  const [file = 'docker-compose', ...prefix] = command
  // One fixed project, so the API image it builds stays as the layer cache of the next run.
  const project = 'kbc-stack'
  const apiPort = await freePort()
  // A small population: a computation must end well inside its 30 s bucket on a busy machine, or
  // the second answer is STALE instead of a HIT.
  const env = { ...process.env, REDIS_PASSWORD: randomBytes(24).toString('hex'), API_PORT: String(apiPort), ENERGY_AGENTS: '200' }
  const compose = (...args: string[]) => run(file, [...prefix, '-p', project, '-f', 'docker-compose.yml', ...args], env)
  t.teardown(() => compose('down', '--volumes', '--remove-orphans', '--timeout', '5'))
  await compose('up', '--detach', '--build')
  const id = async (service: string) => compose('ps', '-q', service)
  const [api, redis, replica] = [await id('api'), await id('redis'), await id('redis-replica')]
  const base = `http://127.0.0.1:${apiPort}`

  await waitUntil('the API to answer /health', async () => (await fetch(`${base}/health`)).ok, { timeoutMs: 120_000, intervalMs: 500 })
  const health = (await (await fetch(`${base}/health`)).json()) as { backend?: string; degraded?: boolean }
  t.match(health, { backend: /redis/i, degraded: false }, 'the API caches in the Redis container')

  const first = await fetch(`${base}/energy/gradient`)
  await first.arrayBuffer()
  t.equal(first.status, 200)
  const second = await fetch(`${base}/energy/gradient`)
  await second.arrayBuffer()
  t.equal(second.headers.get('x-cache'), 'HIT', `the second request is served from Redis (first: ${first.headers.get('x-cache')})`)

  const cli = (container: string, ...args: string[]) => docker('exec', container, 'redis-cli', ...args)
  t.same((await cli(redis, 'config', 'get', 'appendonly')).split('\n'), ['appendonly', 'yes'])
  t.same((await cli(redis, 'config', 'get', 'maxmemory')).split('\n'), ['maxmemory', String(256 * 2 ** 20)])
  t.same((await cli(redis, 'config', 'get', 'maxmemory-policy')).split('\n'), ['maxmemory-policy', 'allkeys-lru'])
  t.match(await docker('exec', redis, 'sh', '-c', 'unset REDISCLI_AUTH; redis-cli ping'), /NOAUTH/, 'Redis wants the password')
  t.equal(await docker('port', redis), '', 'Redis is not published')
  t.equal(await docker('port', api, '8002'), `127.0.0.1:${apiPort}`, 'the API is published on this machine only')
  await waitUntil('the replica to sync', async () => (await cli(replica, 'info', 'replication')).includes('master_link_status:up'), { timeoutMs: 60_000, intervalMs: 500 })
  t.equal(await docker('inspect', '-f', '{{.State.Health.Status}}', redis), 'healthy', 'the redis-cli health check authenticates')

  // docker top runs ps on this machine, which wants the pid column; uids are as the kernel sees them.
  const processes = (await docker('top', api, '-eo', 'pid,uid,comm')).split('\n').slice(1).map((line) => line.trim().split(/\s+/).slice(1))
  const node = processes.filter(([, name]) => name === 'node')
  t.ok(node.length > 0, 'the API runs node')
  t.ok(node.every(([uid]) => uid !== '0'), `node runs as an unprivileged user (uids ${node.map(([uid]) => uid).join(', ')})`)

  const spec = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: { api: { stop_grace_period: string } } }
  const graceSeconds = Number(/^(\d+)s$/.exec(spec.services.api.stop_grace_period)?.[1])
  const stopping = performance.now()
  await docker('stop', '--time', String(graceSeconds), api)
  const seconds = (performance.now() - stopping) / 1000
  // Exit code 0, not 137: node finished its shutdown before the grace period ran out and SIGKILL came.
  t.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', api), '0', 'docker stop ends the API with exit code 0')
  t.comment(`docker stop took ${seconds.toFixed(1)} s of the ${graceSeconds} s grace period`)
})
