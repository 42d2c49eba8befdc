import t from 'tap'
import { ConfigError } from '../../src/cache/errors.js'
import { DEFAULT_PORT, DEFAULT_SEED, DEFAULT_TIMEOUT_MS, loadConfig } from '../../src/energy/config.js'
import { DEFAULT_AGENTS } from '../../src/energy/pool.js'

t.test('defaults: port 8002, default population, memory cache, admin off', async (t) => {
  const config = loadConfig({})
  t.same(config, {
    port: DEFAULT_PORT,
    agents: DEFAULT_AGENTS,
    seed: DEFAULT_SEED,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    threads: undefined,
    maxQueue: undefined,
    l1Mb: 32,
    adminToken: undefined,
    metrics: { kind: 'public' },
    serverTiming: true,
    logLevel: 'info',
    http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: 1024 },
    dashboard: { enabled: true, webhookUrl: undefined, degradedAfterS: 30, evaluateMs: 5000 },
    redis: undefined,
    ignored: [],
  })
  t.equal(config.port, 8002)
  t.same(loadConfig({ PORT: '  ', ADMIN_TOKEN: '' }).adminToken, undefined, 'empty values count as unset')
})

t.test('every variable is read', async (t) => {
  const config = loadConfig({
    PORT: '0',
    ENERGY_AGENTS: '48',
    ENERGY_SEED: '7',
    ENERGY_TIMEOUT_MS: '1500',
    ENERGY_THREADS: '3',
    ENERGY_MAX_QUEUE: '0',
    CACHE_L1_MB: '0',
    ADMIN_TOKEN: 's3cret-s3cret-s3cret',
    METRICS_TOKEN: 'metrics-metrics-metrics',
    SERVER_TIMING: 'off',
    LOG_LEVEL: 'DEBUG',
    HTTP_HEADERS_TIMEOUT_MS: '2000',
    HTTP_REQUEST_TIMEOUT_MS: '4000',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
    HTTP_MAX_CONNECTIONS: '50',
  })
  t.match(config, {
    port: 0, agents: 48, seed: 7, timeoutMs: 1500, threads: 3, maxQueue: 0, l1Mb: 0, adminToken: 's3cret-s3cret-s3cret', logLevel: 'debug', redis: undefined,
    metrics: { kind: 'token', token: 'metrics-metrics-metrics' },
    serverTiming: false,
    http: { headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000, maxConnections: 50 },
  })
  t.same(loadConfig({ METRICS: 'off', METRICS_TOKEN: 'metrics-metrics-metrics' }).metrics, { kind: 'off' }, 'off wins over a token')
})

t.test('tokens: short ones and ones with whitespace at an end stop start-up, and are never repeated', async (t) => {
  for (const variable of ['ADMIN_TOKEN', 'METRICS_TOKEN']) {
    for (const value of ['a', 'fifteen-chars-x', ' sixteen-chars-xx', 'sixteen-chars-xx\n', '                 ']) {
      const error = (() => {
        try {
          loadConfig({ [variable]: value })
          return undefined
        } catch (e) {
          return e
        }
      })()
      t.ok(error instanceof ConfigError, `${variable}=${JSON.stringify(value)} is refused`)
      t.equal((error as ConfigError).variable, variable)
      t.match((error as Error).message, new RegExp(`^${variable} must be at least 16 characters`))
      if (value.trim().length > 3) t.notOk((error as Error).message.includes(value.trim()), 'the token is not in the message')
    }
    t.equal(loadConfig({ [variable]: 'sixteen-chars-xx' })[variable === 'ADMIN_TOKEN' ? 'adminToken' : 'metrics'] !== undefined, true)
  }
})

t.test('Redis options come from REDIS_URL or REDIS_HOST and friends', async (t) => {
  t.match(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6380/2' }).redis, { url: 'redis://127.0.0.1:6380/2' })
  t.match(loadConfig({ REDIS_HOST: 'redis', REDIS_PORT: '6379', REDIS_DB: '0', REDIS_PASSWORD: 'pw' }).redis, {
    host: 'redis',
    port: 6379,
    db: 0,
    password: 'pw',
  })
  const ignored = loadConfig({ REDIS_PORT: '6379', REDIS_DB: '1' })
  t.equal(ignored.redis, undefined, 'without a URL or host the cache stays in memory')
  t.same(ignored.ignored, ['REDIS_DB', 'REDIS_PORT'], 'and the unused variables are reported')
})

const BAD: Array<[string, Record<string, string>]> = [
  ['PORT', { PORT: 'abc' }],
  ['PORT', { PORT: '70000' }],
  ['PORT', { PORT: '80.5' }],
  ['ENERGY_AGENTS', { ENERGY_AGENTS: '0' }],
  ['ENERGY_AGENTS', { ENERGY_AGENTS: 'many' }],
  ['ENERGY_AGENTS', { ENERGY_AGENTS: '1000000' }],
  ['ENERGY_SEED', { ENERGY_SEED: '-1' }],
  ['ENERGY_TIMEOUT_MS', { ENERGY_TIMEOUT_MS: '0' }],
  ['ENERGY_THREADS', { ENERGY_THREADS: '1.5' }],
  ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
  ['REDIS_PORT', { REDIS_PORT: '99999' }],
  ['REDIS_PORT', { REDIS_HOST: 'localhost', REDIS_PORT: '99999' }],
  ['REDIS_DB', { REDIS_HOST: 'localhost', REDIS_DB: '-1' }],
  ['REDIS_URL', { REDIS_URL: 'http://localhost:6379' }],
  ['REDIS_TLS', { REDIS_HOST: 'localhost', REDIS_TLS: 'maybe' }],
  ['ENERGY_MAX_QUEUE', { ENERGY_MAX_QUEUE: '-1' }],
  ['METRICS', { METRICS: 'maybe' }],
  ['SERVER_TIMING', { SERVER_TIMING: 'sometimes' }],
  ['HTTP_HEADERS_TIMEOUT_MS', { HTTP_HEADERS_TIMEOUT_MS: '10s' }],
  ['HTTP_REQUEST_TIMEOUT_MS', { HTTP_REQUEST_TIMEOUT_MS: '0' }],
  ['HTTP_REQUEST_TIMEOUT_MS', { HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }],
  ['HTTP_KEEP_ALIVE_TIMEOUT_MS', { HTTP_KEEP_ALIVE_TIMEOUT_MS: 'forever' }],
  ['HTTP_MAX_CONNECTIONS', { HTTP_MAX_CONNECTIONS: '0' }],
]

t.test('a malformed value throws ConfigError naming the variable', async (t) => {
  for (const [variable, env] of BAD) {
    const error = (() => {
      try {
        loadConfig(env)
        return undefined
      } catch (e) {
        return e
      }
    })()
    t.ok(error instanceof ConfigError, `${JSON.stringify(env)} is refused`)
    t.equal((error as ConfigError).variable, variable)
    t.match((error as Error).message, new RegExp(`^${variable} must be `), 'the message starts with the variable')
  }
})

t.test('a password in a malformed REDIS_URL stays out of the message', async (t) => {
  let error: unknown
  try {
    loadConfig({ REDIS_URL: 'http://user:hunter2@localhost:6379' })
  } catch (e) {
    error = e
  }
  t.equal((error as ConfigError | undefined)?.variable, 'REDIS_URL')
  t.notMatch((error as Error).message, /hunter2/)
})
