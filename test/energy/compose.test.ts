/**
 * docker-compose.yml, the Dockerfile and .dockerignore read as text: services, commands,
 * healthchecks, environment, dependencies, and the variables CI sets. Running them for real is
 * test/containers/compose-stack.test.ts, under .ci/containers.sh.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { loadConfig } from '../../src/energy/config.js'
import { ROOT } from './support.js'

/* eslint-disable @typescript-eslint/no-explicit-any -- parsed YAML is read field by field */
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')
// Merge keys on, as compose reads them: api-2 is `<<: *api` with its own port.
const compose: any = parse(read('docker-compose.yml'), { merge: true })
const dockerfile = read('Dockerfile')
const dockerignore = read('.dockerignore').split('\n').map((l) => l.trim())

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

const VARIABLE = /\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g

/** Compose's interpolation of ${NAME}, ${NAME:-default} and ${NAME:?error}, with `env` as the environment. */
function interpolate(value: unknown, env: Record<string, string> = {}): string {
  return String(value).replace(VARIABLE, (_, name: string, kind?: string, word = '') => {
    const set = env[name]
    if (set !== undefined && set !== '') return set
    if (kind === '?') throw new Error(`${name}: ${word}`)
    return kind === '-' ? word : ''
  })
}

/** Every variable the compose file reads. */
const composeVariables = new Set([...read('docker-compose.yml').matchAll(VARIABLE)].map((m) => m[1]))

t.test('services: redis, a read-only replica and two API instances', async (t) => {
  t.same(Object.keys(compose.services).sort(), ['api', 'api-2', 'redis', 'redis-replica'])
})

t.test('redis: 7.2-alpine, append-only, 256mb allkeys-lru, redis-cli ping healthcheck (as in the seed)', async (t) => {
  const redis = compose.services.redis
  t.equal(interpolate(redis.image), 'redis:7.2-alpine', 'redis:7.2-alpine unless REDIS_IMAGE names another')
  const command = words(interpolate(redis.command, { REDIS_PASSWORD: 'pw' }))
  t.equal(command[0], 'redis-server')
  t.same(after(command, '--appendonly').slice(0, 1), ['yes'])
  t.same(after(command, '--maxmemory').slice(0, 1), ['256mb'])
  t.same(after(command, '--maxmemory-policy').slice(0, 1), ['allkeys-lru'])
  t.same(redis.healthcheck.test, ['CMD', 'redis-cli', 'ping'])
  t.match(redis.healthcheck, { interval: '10s', timeout: '5s', retries: 5 })
  t.ok(redis.volumes?.some((v: string) => v.endsWith(':/data')), 'data on a volume, so the AOF survives')
  t.ok(Object.keys(compose.volumes ?? {}).includes('redis_data'))
})

t.test('redis and its replica: a password that must be given, and no published port', async (t) => {
  const pw = { REDIS_PASSWORD: 'pw' }
  const redis = compose.services.redis
  t.same(after(words(interpolate(redis.command, pw)), '--requirepass').slice(0, 1), ['pw'])
  t.throws(() => interpolate(redis.command), /REDIS_PASSWORD/, 'compose refuses to start Redis without REDIS_PASSWORD')
  const replica = compose.services['redis-replica']
  const replicaCommand = words(interpolate(replica.command, pw))
  t.same(after(replicaCommand, '--masterauth').slice(0, 1), ['pw'])
  t.same(after(replicaCommand, '--requirepass').slice(0, 1), ['pw'])
  for (const service of [redis, replica]) {
    t.equal(service.ports, undefined, 'not published: only the services on the compose network reach it')
    t.equal(interpolate(service.environment?.REDISCLI_AUTH, pw), 'pw', 'the redis-cli health check authenticates')
  }
  t.equal(interpolate(compose.services.api.environment.REDIS_PASSWORD, pw), 'pw', 'the API gets the same password')
})

t.test('redis-replica: replicates redis read-only, once redis is healthy', async (t) => {
  const replica = compose.services['redis-replica']
  t.equal(interpolate(replica.image), 'redis:7.2-alpine')
  const command = words(interpolate(replica.command, { REDIS_PASSWORD: 'pw' }))
  t.equal(command[0], 'redis-server')
  t.same(after(command, '--replicaof').slice(0, 2), ['redis', '6379'])
  t.same(after(command, '--replica-read-only').slice(0, 1), ['yes'])
  t.same(replica.depends_on, { redis: { condition: 'service_healthy' } })
  t.same(replica.healthcheck.test, ['CMD', 'redis-cli', 'ping'])
})

t.test('api: built from the Dockerfile, Redis by host/port/db, after a healthy redis, on 8002', async (t) => {
  const api = compose.services.api
  t.match(api.build, { context: '.', dockerfile: 'Dockerfile' })
  t.equal(interpolate(api.build.args.NODE_IMAGE), 'node:20-bookworm-slim', 'the official base unless NODE_IMAGE names another')
  t.match(api.environment, { REDIS_HOST: 'redis', REDIS_PORT: 6379, REDIS_DB: 0, PORT: 8002 })
  t.same(api.depends_on, { redis: { condition: 'service_healthy' } })
  t.same(api.ports.map((p: string) => interpolate(p)), ['127.0.0.1:8002:8002'], 'published on this machine only')
  t.same(api.ports.map((p: string) => interpolate(p, { API_PORT: '9000' })), ['127.0.0.1:9000:8002'])
  t.equal(api.init, true, 'an init process reaps children and forwards signals')

  // The environment the container gets must pass the service's own configuration check.
  const env = Object.fromEntries(
    Object.entries(api.environment as Record<string, unknown>).map(([k, v]) => [k, interpolate(v, { REDIS_PASSWORD: 'pw' })]),
  )
  const config = loadConfig(env)
  t.match(config.redis, { host: 'redis', port: 6379, db: 0 })
  t.equal(config.port, 8002)
  t.equal(config.adminToken, undefined, 'admin stays off unless ADMIN_TOKEN is given')

  const grace = /^(\d+)s$/.exec(String(api.stop_grace_period))
  t.ok(grace && Number(grace[1]) * 1000 > config.timeoutMs, 'the stop grace period outlasts a computation')
})

t.test('api-2: a second instance of api on its own port; both keep an in-process tier on the one Redis', async (t) => {
  const { ports: ports1, ...api } = compose.services.api
  const { ports: ports2, ...api2 } = compose.services['api-2']
  t.same(api2, api, 'the same image, Redis, environment and lifecycle as api')
  t.same(ports2.map((p: string) => interpolate(p)), ['127.0.0.1:8003:8002'], 'published on this machine only, next to api')
  t.same(ports2.map((p: string) => interpolate(p, { API_2_PORT: '9001' })), ['127.0.0.1:9001:8002'])
  t.not(interpolate(ports2[0]).split(':')[1], interpolate(ports1[0]).split(':')[1], 'two host ports')
  const env = Object.fromEntries(Object.entries(api.environment as Record<string, unknown>).map(([k, v]) => [k, interpolate(v, { REDIS_PASSWORD: 'pw' })]))
  t.equal(loadConfig(env).l1Mb, 32, 'the in-process tier is on (CACHE_L1_MB, 32 MiB unless given)')
  t.equal(loadConfig({ ...env, CACHE_L1_MB: interpolate(api.environment.CACHE_L1_MB, { CACHE_L1_MB: '0' }) }).l1Mb, 0, 'CACHE_L1_MB=0 turns it off')
})

t.test('Dockerfile: node 20 by default, npm ci, build, run the compiled npm start as node', async (t) => {
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  t.match(instructions[0], /^ARG NODE_IMAGE=node:20(-|$)/, 'the base is a build argument, node 20 by default')
  const froms = instructions.filter((l) => l.startsWith('FROM '))
  t.ok(froms.length === 2 && froms.every((l) => l.startsWith('FROM ${NODE_IMAGE}')), 'both stages on NODE_IMAGE')
  t.ok(instructions.some((l) => /^RUN npm ci\b/.test(l)), 'npm ci')
  t.ok(instructions.some((l) => /^RUN npm run build:service$/.test(l)), 'npm run build:service (the library and the service)')
  t.ok(instructions.some((l) => /^EXPOSE 8002$/.test(l)))
  const cmd = instructions.filter((l) => l.startsWith('CMD ')).at(-1)
  const pkg = JSON.parse(read('package.json')) as { scripts: { start: string } }
  const script = pkg.scripts.start.split(/\s+/).at(-1) ?? '' // tsx <file>
  const build = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string } }
  const compiled = `${build.compilerOptions.outDir}/${script.replace(/\.ts$/, '.js')}`
  t.same(JSON.parse(cmd?.slice(4) ?? '[]'), ['node', compiled], `CMD runs ${compiled}, what npm start runs, compiled`)
  t.match(dockerfile, new RegExp(`nodeFileTrace\\(\\[[^\\]]*'${compiled}'`), 'the runtime files are traced from that entry')
  for (const copied of ['src', 'adapters', 'package.json', 'package-lock.json', 'tsconfig.build.json', 'tsconfig.service.json']) {
    t.ok(instructions.some((l) => l.startsWith('COPY ') && l.includes(copied)), `copies ${copied}`)
  }
  t.ok(instructions.includes('USER node'), 'does not run as root')
})

t.test('what CI runs sets only variables the compose file reads', async (t) => {
  const script = read('.ci/containers.sh')
  const stack = read('test/containers/compose-stack.test.ts')
  t.match(script, /KBC_COMPOSE=\$compose npx tap [^\n]*test\/containers\/compose-stack\.test\.ts/, 'CI runs the stack test')
  t.match(stack, /'-f', 'docker-compose\.yml'/, 'the stack test runs docker-compose.yml itself')
  const exported = /^export TEST_REDIS_BACKEND=docker (.*)$/m.exec(script)?.[1] ?? ''
  const fromScript = ['REDIS_IMAGE', 'NODE_IMAGE'].filter((name) => new RegExp(`\\b${name}\\b`).test(exported))
  t.same(fromScript, ['REDIS_IMAGE', 'NODE_IMAGE'], 'the script hands its images to compose')
  const fromStack = [...(/const env = \{ \.\.\.process\.env, ([^}]*)\}/.exec(stack)?.[1] ?? '').matchAll(/([A-Z_][A-Z0-9_]*):/g)].map((m) => m[1])
  t.ok(fromStack.includes('REDIS_PASSWORD'), 'the stack test sets a password')
  for (const name of [...fromScript, ...fromStack]) t.ok(composeVariables.has(name), `docker-compose.yml reads ${name}`)
})

t.test('.dockerignore keeps the build context small', async (t) => {
  for (const entry of ['node_modules', '.git', 'dist', 'test']) t.ok(dockerignore.includes(entry), `ignores ${entry}`)
  for (const needed of ['src', 'adapters', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    t.notOk(dockerignore.includes(needed), `keeps ${needed}`)
  }
})
