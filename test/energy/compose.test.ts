/**
 * No Docker engine runs here, so docker-compose.yml, the Dockerfile and .dockerignore are kept
 * correct by reading them: services, commands, healthchecks, environment, dependencies.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { loadConfig } from '../../src/energy/config.js'
import { ROOT } from './support.js'

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML is read field by field */
const compose: any = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'))
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())

/** A compose `command` as a list of words, whichever form it is written in. */
function words(command: unknown): string[] {
  if (Array.isArray(command)) return command.map(String)
  return String(command).trim().split(/\s+/)
}

/** The value following `flag` in a word list. */
function after(list: string[], flag: string): string[] {
  const at = list.indexOf(flag)
  return at < 0 ? [] : list.slice(at + 1)
}

t.test('services: redis, a read-only replica and the API', async (t) => {
  t.same(Object.keys(compose.services).sort(), ['api', 'redis', 'redis-replica'])
})

t.test('redis: 7.2-alpine, append-only, 256mb allkeys-lru, redis-cli ping healthcheck (as in the seed)', async (t) => {
  const redis = compose.services.redis
  t.equal(redis.image, 'redis:7.2-alpine')
  const command = words(redis.command)
  t.equal(command[0], 'redis-server')
  t.same(after(command, '--appendonly').slice(0, 1), ['yes'])
  t.same(after(command, '--maxmemory').slice(0, 1), ['256mb'])
  t.same(after(command, '--maxmemory-policy').slice(0, 1), ['allkeys-lru'])
  t.same(redis.healthcheck.test, ['CMD', 'redis-cli', 'ping'])
  t.match(redis.healthcheck, { interval: '10s', timeout: '5s', retries: 5 })
  t.ok(redis.volumes?.some((v: string) => v.endsWith(':/data')), 'data on a volume, so the AOF survives')
  t.ok(Object.keys(compose.volumes ?? {}).includes('redis_data'))
})

t.test('redis-replica: replicates redis read-only, once redis is healthy', async (t) => {
  const replica = compose.services['redis-replica']
  t.equal(replica.image, 'redis:7.2-alpine')
  const command = words(replica.command)
  t.equal(command[0], 'redis-server')
  t.same(after(command, '--replicaof').slice(0, 2), ['redis', '6379'])
  t.same(after(command, '--replica-read-only').slice(0, 1), ['yes'])
  t.same(replica.depends_on, { redis: { condition: 'service_healthy' } })
  t.same(replica.healthcheck.test, ['CMD', 'redis-cli', 'ping'])
})

t.test('api: built from the Dockerfile, Redis by host/port/db, after a healthy redis, on 8002', async (t) => {
  const api = compose.services.api
  t.match(api.build, { context: '.', dockerfile: 'Dockerfile' })
  t.match(api.environment, { REDIS_HOST: 'redis', REDIS_PORT: 6379, REDIS_DB: 0, PORT: 8002 })
  t.same(api.depends_on, { redis: { condition: 'service_healthy' } })
  t.same(api.ports, ['8002:8002'])
  t.equal(api.init, true, 'an init process reaps children and forwards signals')

  // The environment the container gets must pass the service's own configuration check.
  const env = Object.fromEntries(
    Object.entries(api.environment as Record<string, unknown>).map(([k, v]) => [k, String(v).replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1')]),
  )
  const config = loadConfig(env)
  t.match(config.redis, { host: 'redis', port: 6379, db: 0 })
  t.equal(config.port, 8002)
  t.equal(config.adminToken, undefined, 'admin stays off unless ADMIN_TOKEN is given')

  const grace = /^(\d+)s$/.exec(String(api.stop_grace_period))
  t.ok(grace && Number(grace[1]) * 1000 > config.timeoutMs, 'the stop grace period outlasts a computation')
})

t.test('Dockerfile: node 20, npm ci, the same command as npm start', async (t) => {
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  t.match(instructions[0], /^FROM node:20(-|$)/)
  t.ok(instructions.some((l) => /^RUN npm ci\b/.test(l)), 'npm ci')
  t.ok(instructions.some((l) => /^EXPOSE 8002$/.test(l)))
  const cmd = instructions.filter((l) => l.startsWith('CMD ')).at(-1)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const script = pkg.scripts.start.split(/\s+/).at(-1) // tsx <file>
  t.same(JSON.parse(cmd?.slice(4) ?? '[]'), ['node', '--import', 'tsx', script], `CMD runs ${script} as npm start does`)
  for (const copied of ['src', 'adapters', 'package.json', 'package-lock.json']) {
    t.ok(instructions.some((l) => l.startsWith('COPY ') && l.includes(copied)), `copies ${copied}`)
  }
  t.ok(instructions.includes('USER node'), 'does not run as root')
})

t.test('.dockerignore keeps the build context small', async (t) => {
  for (const entry of ['node_modules', '.git', 'dist', 'test']) t.ok(dockerignore.includes(entry), `ignores ${entry}`)
  for (const needed of ['src', 'adapters', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    t.notOk(dockerignore.includes(needed), `keeps ${needed}`)
  }
})
