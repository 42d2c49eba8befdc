import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { envBool, envHost, envHostList, envInt, envPort, envString, envUrl, redactUrl, type Env, type HostPort } from './env.js'
import { ConfigError, OptionError } from './errors.js'
import { isHost, positiveInt, rejectUnknownKeys } from './checks.js'
import type { Logger } from './contract.js'

/**
 * A client of the application's own ioredis, 5 or 6, Redis or Cluster. Typed by a few members every
 * such client has, not by this package's ioredis class: an application on another ioredis major than
 * ours has another class, which TypeScript refuses although it works the same (checked at construction).
 */
export interface IoredisClient {
  readonly isCluster: boolean
  status: string
  options: object
  sendCommand(...args: never[]): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
}

/** The client handed in, as this package's ioredis types describe it (the commands RedisStore sends are the same in 5 and 6). */
export function ownClient(client: IoredisClient): Redis | Cluster {
  return client as unknown as Redis | Cluster
}

/** Cluster or not, by the flag every ioredis client carries: a Cluster of another ioredis major is no instance of ours. */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return client.isCluster
}

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL; takes precedence over host/port/db. */
  url?: string
  host?: string
  port?: number
  db?: number
  username?: string
  password?: string
  /** true for TLS with the system's CAs, or node:tls options. rediss:// implies true. */
  tls?: boolean | ConnectionOptions
  /** Sentinel mode: the sentinels to ask and the name of the monitored primary. */
  sentinels?: HostPort[]
  sentinelName?: string
  /** Cluster mode: a few nodes to discover the cluster from. */
  clusterNodes?: HostPort[]
  /** An existing ioredis Redis or Cluster (ioredis 5 or 6) to use instead of building one. */
  client?: IoredisClient
  /** Force read-only: never write. Otherwise the role is detected. */
  readOnly?: boolean
  /**
   * Budget of one command in ms before it fails with a timeout.
   * @default 100
   */
  operationTimeout?: number
  /**
   * How long start-up waits for the first connection, in ms.
   * @default 2000
   */
  connectTimeout?: number
  /**
   * How often the replication role is checked again, in ms; 0 turns it off.
   * @default 15000
   */
  roleCheckInterval?: number
  /**
   * SCAN COUNT hint and UNLINK batch size for prefix deletes.
   * @default 500
   */
  scanCount?: number
  logger?: Logger
}

const REDIS_OPTION_KEYS = Object.keys({
  url: true, host: true, port: true, db: true, username: true, password: true, tls: true, sentinels: true,
  sentinelName: true, clusterNodes: true, client: true, readOnly: true, operationTimeout: true,
  connectTimeout: true, roleCheckInterval: true, scanCount: true, logger: true,
} satisfies Record<keyof RedisStoreOptions, true>)

/** Checks the address options once, in the constructor: a bad one throws an OptionError naming it. */
export function checkRedisOptions(options: RedisStoreOptions): void {
  if (typeof options !== 'object' || options === null) throw new OptionError('RedisStore options', 'an object', options)
  rejectUnknownKeys(options, REDIS_OPTION_KEYS, 'RedisStore.')
  if (options.url !== undefined && !isRedisUrl(options.url)) {
    // Never the URL as given: it may hold a password (redactUrl keeps the user name only).
    const shown = typeof options.url === 'string' ? redactUrl(options.url) : options.url
    throw new OptionError('RedisStore.url', 'a redis:// or rediss:// URL, such as redis://127.0.0.1:6379', shown)
  }
  if (options.host !== undefined && !isHost(options.host)) {
    throw new OptionError('RedisStore.host', 'a host name or IP address (no scheme, port or spaces)', options.host)
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)) {
    throw new OptionError('RedisStore.port', 'an integer from 1 to 65535', options.port)
  }
  if (options.db !== undefined && !(Number.isInteger(options.db) && options.db >= 0)) {
    throw new OptionError('RedisStore.db', 'an integer >= 0', options.db)
  }
  checkShapes(options)
}

/** The options past the address: a wrong type here used to reach ioredis, or fail on first use. */
function checkShapes(options: RedisStoreOptions): void {
  for (const name of ['username', 'password'] as const) {
    // Never the value itself: it may be the password.
    if (options[name] !== undefined && typeof options[name] !== 'string') throw new OptionError(`RedisStore.${name}`, 'a string', typeof options[name])
  }
  const { tls, readOnly, scanCount, logger, client } = options
  if (tls !== undefined && typeof tls !== 'boolean' && (typeof tls !== 'object' || tls === null)) throw new OptionError('RedisStore.tls', 'true, false or node:tls options', tls)
  if (readOnly !== undefined && typeof readOnly !== 'boolean') throw new OptionError('RedisStore.readOnly', 'true or false', readOnly)
  if (scanCount !== undefined) positiveInt(scanCount, 'RedisStore.scanCount')
  if (logger !== undefined && typeof (logger as { warn?: unknown } | null)?.warn !== 'function') throw new OptionError('RedisStore.logger', 'an object with a warn method (pino and console fit)', logger)
  if (client !== undefined && !(typeof client === 'object' && client !== null && typeof client.sendCommand === 'function' && typeof client.options === 'object')) {
    throw new OptionError('RedisStore.client', 'an ioredis Redis or Cluster', client)
  }
  if (options.sentinels !== undefined) checkNodes(options.sentinels, 'RedisStore.sentinels')
  if (options.sentinelName !== undefined && (typeof options.sentinelName !== 'string' || options.sentinelName === '')) {
    throw new OptionError('RedisStore.sentinelName', 'the name of the primary the sentinels monitor', options.sentinelName)
  }
  if (options.clusterNodes !== undefined) checkNodes(options.clusterNodes, 'RedisStore.clusterNodes')
}

function checkNodes(nodes: unknown, option: string): void {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new OptionError(option, 'a non-empty array of { host, port }', nodes)
  nodes.forEach((node: Partial<HostPort> | null, i) => {
    if (!isHost(node?.host) || !(Number.isInteger(node?.port) && node!.port! >= 1 && node!.port! <= 65535)) {
      throw new OptionError(`${option}[${i}]`, 'a { host, port } with a host name or IP address and a port from 1 to 65535', node)
    }
  })
}

function isRedisUrl(url: unknown): boolean {
  if (typeof url !== 'string') return false
  try {
    const { protocol } = new URL(url) // throws on a port past 65535 too
    return protocol === 'redis:' || protocol === 'rediss:'
  } catch {
    return false
  }
}

/** True when the environment asks for Redis at all. */
export function redisConfigured(env: Env = process.env): boolean {
  return ['REDIS_URL', 'REDIS_HOST', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].some(
    (name) => envString(env, name) !== undefined,
  )
}

/**
 * Reads REDIS_URL, or REDIS_HOST/PORT/DB/USERNAME/PASSWORD, REDIS_TLS with
 * REDIS_TLS_CA/CERT/KEY, REDIS_READONLY, REDIS_SENTINELS with REDIS_SENTINEL_NAME,
 * REDIS_CLUSTER_NODES and REDIS_TIMEOUT_MS. Throws ConfigError naming the first
 * malformed variable.
 */
export function redisOptionsFromEnv(env: Env = process.env): RedisStoreOptions {
  const options: RedisStoreOptions = {}
  const url = envUrl(env, 'REDIS_URL', ['redis:', 'rediss:'])
  if (url) options.url = url.href
  const host = envHost(env, 'REDIS_HOST')
  if (host !== undefined) options.host = host
  assign(options, 'port', envPort(env, 'REDIS_PORT'))
  assign(options, 'db', envInt(env, 'REDIS_DB', 0, 2 ** 31 - 1))
  assign(options, 'username', envString(env, 'REDIS_USERNAME'))
  assign(options, 'password', envString(env, 'REDIS_PASSWORD'))
  assign(options, 'tls', tlsFromEnv(env))
  assign(options, 'readOnly', envBool(env, 'REDIS_READONLY'))
  assign(options, 'operationTimeout', envInt(env, 'REDIS_TIMEOUT_MS', 1, 60_000))
  const sentinels = envHostList(env, 'REDIS_SENTINELS')
  if (sentinels) {
    const name = envString(env, 'REDIS_SENTINEL_NAME')
    if (name === undefined) throw new ConfigError('REDIS_SENTINEL_NAME', 'set when REDIS_SENTINELS is set', '')
    options.sentinels = sentinels
    options.sentinelName = name
  }
  assign(options, 'clusterNodes', envHostList(env, 'REDIS_CLUSTER_NODES'))
  return options
}

const TLS_FILES = { ca: 'REDIS_TLS_CA', cert: 'REDIS_TLS_CERT', key: 'REDIS_TLS_KEY' } as const

/**
 * REDIS_TLS=true for the system's CAs; REDIS_TLS_CA (a PEM file of CAs to
 * trust instead) and REDIS_TLS_CERT with REDIS_TLS_KEY (a client certificate,
 * for servers with tls-auth-clients) imply it. Files are read once, here.
 */
function tlsFromEnv(env: Env): boolean | ConnectionOptions | undefined {
  const on = envBool(env, 'REDIS_TLS')
  const files: ConnectionOptions = {}
  for (const [field, name] of Object.entries(TLS_FILES)) {
    const path = envString(env, name)
    if (path !== undefined) files[field as keyof typeof TLS_FILES] = readPem(name, path)
  }
  const given = Object.entries(TLS_FILES).filter(([field]) => field in files).map(([, name]) => name)
  if (given.length === 0) return on
  if (on === false) throw new ConfigError('REDIS_TLS', `true or unset when ${given.join(', ')} is set`, 'false')
  if ((files.cert === undefined) !== (files.key === undefined)) {
    const missing = files.cert === undefined ? 'REDIS_TLS_CERT' : 'REDIS_TLS_KEY'
    throw new ConfigError(missing, `set together with ${missing === 'REDIS_TLS_CERT' ? 'REDIS_TLS_KEY' : 'REDIS_TLS_CERT'} (a client certificate and its key)`, '')
  }
  return files
}

function readPem(name: string, path: string): Buffer {
  let pem: Buffer
  try {
    pem = readFileSync(path)
  } catch (error) {
    throw new ConfigError(name, `a readable PEM file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, path, { cause: error })
  }
  if (!pem.includes('-----BEGIN ')) throw new ConfigError(name, 'a PEM file (-----BEGIN ...)', path)
  return pem
}

/** The URL option parsed, or an OptionError whose message shows it with every credential hidden. */
function parseUrl(url: string): URL {
  try {
    return new URL(url)
  } catch {
    // Node's own error keeps the whole input (password included) in its `input` field: never let it out.
    throw new OptionError('RedisStore.url', 'a valid redis:// or rediss:// URL', redactUrl(url))
  }
}

function assign<K extends keyof RedisStoreOptions>(
  target: RedisStoreOptions,
  key: K,
  value: RedisStoreOptions[K] | undefined,
): void {
  if (value !== undefined) target[key] = value
}

/** Picks the strategy once: Cluster, Sentinel, URL or host/port. Fails fast: no offline queue, no retries per command. */
export function buildClient(options: RedisStoreOptions, commandTimeout: number, connectTimeout: number): Redis | Cluster {
  const tls = options.tls === true ? {} : options.tls || undefined
  const common: RedisOptions = {
    commandTimeout,
    connectTimeout,
    enableOfflineQueue: false,
    // Commands issued in one tick go out in one write: fewer syscalls here and in Redis per hit.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    // ioredis sends CLIENT SETINFO on each connection: Redis 7.2+ refuses it to the README's
    // restricted ACL user (an ACL LOG entry each time), and 7.0 does not know it.
    disableClientInfo: true,
    // The first retry at once: after Sentinel's +switch-master the new primary is already there.
    retryStrategy: (times) => (times === 1 ? 0 : Math.min(100 * times, 1000)),
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
    ...(tls && { tls }),
  }
  if (options.clusterNodes) {
    return new Cluster(options.clusterNodes, {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
      slotsRefreshTimeout: connectTimeout,
      redisOptions: common,
    })
  }
  if (options.sentinels) {
    return new Redis({
      ...common,
      sentinels: options.sentinels,
      name: options.sentinelName ?? 'mymaster',
      db: options.db ?? 0,
      // After SENTINEL FAILOVER the old primary says it is a master until Sentinel demotes it, about
      // ten seconds later, and takes writes that are then lost (issue 19): reconnect on the
      // Sentinels' +switch-master instead, within a second. A Sentinel connection that drops is
      // tried again each second rather than ioredis's minute, so a restarted Sentinel is heard.
      failoverDetector: true,
      sentinelReconnectStrategy: () => 1000,
    })
  }
  if (options.url) {
    const url = parseUrl(options.url)
    const secure = url.protocol === 'rediss:' ? { tls: tls ?? {} } : {}
    return new Redis(options.url, { ...common, ...secure, ...(options.db !== undefined && { db: options.db }) })
  }
  return new Redis({ ...common, host: options.host ?? '127.0.0.1', port: options.port ?? 6379, db: options.db ?? 0 })
}

/** Where the store points, without credentials, for logs and Keyv's opts.url. */
export function describeTarget(options: RedisStoreOptions): string {
  // A client handed in carries its own address; the other options were not used to build it.
  if (options.client?.isCluster) return 'redis-cluster://'
  if (options.client) {
    const { host, port, tls } = ownClient(options.client).options as RedisOptions
    return `${tls ? 'rediss' : 'redis'}://${host}:${port}`
  }
  if (options.clusterNodes) return `redis-cluster://${options.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}`
  if (options.sentinels) return `redis-sentinel://${options.sentinelName ?? 'mymaster'}`
  // TLS options on a redis:// URL or host/port turn TLS on as rediss:// does: say so.
  const tls = options.tls !== undefined && options.tls !== false
  if (options.url) {
    // URL#origin is "null" for redis: and rediss: (not special schemes); host never holds credentials.
    const url = parseUrl(options.url)
    return `${tls ? 'rediss:' : url.protocol}//${url.host}`
  }
  return `${tls ? 'rediss' : 'redis'}://${options.host ?? '127.0.0.1'}:${options.port ?? 6379}`
}
