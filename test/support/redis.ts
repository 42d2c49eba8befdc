/**
 * Real Redis servers for the tests, never a mock.
 *
 * Standalone servers come from, in order: TEST_REDIS_URL (shared: use random keys, and the
 * pause/kill/restart controls are unavailable), a reachable Docker engine (testcontainers), or
 * the `redis-server` binary on PATH (see detect.ts). Replica pairs, Sentinel and Cluster need to
 * start processes, so they use Docker or the binary even when TEST_REDIS_URL is set.
 *
 * Every server is stopped by its stop(), and otherwise when the test process exits or is killed
 * (cleanup.ts). Prefer the `...For(t)` helpers, which register stop() with t.teardown.
 */
import type { Test } from 'tap'
import { createContainerHost, startDockerRedis } from './docker.js'
import { detectRedisBackend, NO_REDIS_MESSAGE } from './detect.js'
import { ManagedServer } from './managed-server.js'
import { localHost, type NodeHost } from './node-host.js'
import { redisCall, waitUntil } from './probe.js'

export interface RedisServer {
  host: string
  port: number
  url: string
  /** SIGSTOP: a hung server; connections stay open and nothing answers. */
  pause(): Promise<void>
  /** SIGCONT. */
  resume(): Promise<void>
  /** SIGKILL: the server is gone, connections are refused. */
  kill(): Promise<void>
  /** Starts it again on the SAME port, with empty data; kills it first if it still runs. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export interface ReplicaPair {
  primary: RedisServer
  replica: RedisServer
  stop(): Promise<void>
}

export interface RedisClusterHandle {
  nodes: { host: string; port: number }[]
  stop(): Promise<void>
}

export interface RedisSentinelHandle {
  sentinels: { host: string; port: number }[]
  /** The monitored primary's name, for `new Redis({ sentinels, name })`. */
  name: string
  primary: RedisServer
  replica: RedisServer
  stop(): Promise<void>
}

const SENTINEL_NAME = 'mymaster'
const CLUSTER_SLOTS: [number, number][] = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
]

function urlServer(url: string): RedisServer {
  const parsed = new URL(url)
  const unsupported = (what: string) => async () => {
    throw new Error(`${what}() is not supported with TEST_REDIS_URL: unset it to let the tests start their own Redis`)
  }
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    url,
    pause: unsupported('pause'),
    resume: unsupported('resume'),
    kill: unsupported('kill'),
    restart: unsupported('restart'),
    stop: async () => {},
  }
}

/** A standalone server; `args` are extra redis-server arguments such as ['--maxmemory', '1mb']. */
export async function startRedis(options: { args?: string[] } = {}): Promise<RedisServer> {
  const args = options.args ?? []
  switch (await detectRedisBackend()) {
    case 'url':
      if (args.length > 0) {
        throw new Error(`startRedis({ args: ${JSON.stringify(args)} }) cannot configure the server at TEST_REDIS_URL`)
      }
      return urlServer(process.env.TEST_REDIS_URL ?? '')
    case 'docker':
      return startDockerRedis(args)
    case 'binary':
      return ManagedServer.launch(localHost, { name: 'standalone', args })
    case undefined:
      throw new Error(NO_REDIS_MESSAGE)
  }
}

/** Whether replica pairs, Sentinel and Cluster can be started (TEST_REDIS_URL alone cannot). */
export async function canStartTopologies(): Promise<boolean> {
  return (await detectRedisBackend({ ignoreUrl: true })) !== undefined
}

async function topologyHost(what: string, servers: number, bus = false): Promise<NodeHost> {
  switch (await detectRedisBackend({ ignoreUrl: true })) {
    case 'docker':
      return createContainerHost(servers, { bus })
    case 'binary':
      return localHost
    default:
      throw new Error(
        process.env.TEST_REDIS_URL
          ? `${what} needs redis-server or a Docker engine: TEST_REDIS_URL only stands in for a standalone server`
          : NO_REDIS_MESSAGE,
      )
  }
}

/** Runs `build` and, if it fails, undoes what it had started. */
async function building<T>(build: (onFailure: (undo: () => Promise<void>) => void) => Promise<T>): Promise<T> {
  const undo: (() => Promise<void>)[] = []
  try {
    return await build((step) => undo.unshift(step))
  } catch (error) {
    for (const step of undo) await step().catch(() => {})
    throw error
  }
}

async function info(server: { host: string; port: number }, section: string): Promise<string> {
  return String(await redisCall(server.host, server.port, ['INFO', section]))
}

// Redis waits 5 s by default before a diskless full sync, hoping more replicas join; on both
// sides, since after a failover the replica is the one feeding the other.
const NO_SYNC_DELAY = ['--repl-diskless-sync-delay', '0']

async function launchPair(host: NodeHost, onFailure: (undo: () => Promise<void>) => void) {
  const primary = await ManagedServer.launch(host, { name: 'primary', args: NO_SYNC_DELAY })
  onFailure(() => primary.stop())
  const replica = await ManagedServer.launch(host, {
    name: 'replica',
    args: [...NO_SYNC_DELAY, '--replicaof', host.address, String(primary.port)],
  })
  onFailure(() => replica.stop())
  await waitUntil(`the replica on port ${replica.port} to sync with its primary`, async () =>
    (await info(replica, 'replication')).includes('master_link_status:up'),
  )
  return { primary, replica }
}

/** A primary and one replica (`--replicaof`), returned once the replication link is up. */
export async function startReplicaPair(): Promise<ReplicaPair> {
  const host = await topologyHost('startReplicaPair()', 2)
  return building(async (onFailure) => {
    onFailure(() => host.dispose())
    const { primary, replica } = await launchPair(host, onFailure)
    return {
      primary,
      replica,
      async stop() {
        await replica.stop()
        await primary.stop()
        await host.dispose()
      },
    }
  })
}

async function slotMap(node: { host: string; port: number }): Promise<string> {
  const slots = (await redisCall(node.host, node.port, ['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][]
  return slots
    .map(([from, to, [, port]]) => `${from}-${to}@${port}`)
    .sort()
    .join(',')
}

/**
 * Three masters, no replicas, slots split in thirds. Returned once every node reports
 * cluster_state:ok and all three agree on which node owns which slots. `fullCoverage: false`
 * keeps the other masters answering once one is down (cluster-require-full-coverage no).
 */
export async function startCluster({ fullCoverage = true } = {}): Promise<RedisClusterHandle> {
  const host = await topologyHost('startCluster()', 3, true)
  return building(async (onFailure) => {
    onFailure(() => host.dispose())
    const servers: ManagedServer[] = []
    for (const [index, [from, to]] of CLUSTER_SLOTS.entries()) {
      const server = await ManagedServer.launch(host, {
        name: 'cluster',
        bus: true,
        // relative to --dir, which is the node's own directory
        args: [
          '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000',
          ...(fullCoverage ? [] : ['--cluster-require-full-coverage', 'no']),
        ],
      })
      onFailure(() => server.stop())
      servers.push(server)
      // distinct epochs up front, as redis-cli --cluster create does, so no epoch collision to settle
      await redisCall(server.host, server.port, ['CLUSTER', 'SET-CONFIG-EPOCH', index + 1])
      await redisCall(server.host, server.port, ['CLUSTER', 'ADDSLOTSRANGE', from, to])
    }
    const [first, ...others] = servers as [ManagedServer, ...ManagedServer[]]
    for (const other of others) {
      await redisCall(first.host, first.port, ['CLUSTER', 'MEET', host.address, other.port])
    }
    const wanted = servers
      .map((server, i) => `${CLUSTER_SLOTS[i]?.[0]}-${CLUSTER_SLOTS[i]?.[1]}@${server.port}`)
      .sort()
      .join(',')
    await waitUntil('the cluster to agree on its slots and report cluster_state:ok', async () => {
      for (const server of servers) {
        const state = String(await redisCall(server.host, server.port, ['CLUSTER', 'INFO']))
        if (!state.includes('cluster_state:ok') || !state.includes('cluster_known_nodes:3')) return false
        if ((await slotMap(server)) !== wanted) return false
      }
      return true
    })
    return {
      nodes: servers.map(({ host: nodeHost, port }) => ({ host: nodeHost, port })),
      async stop() {
        for (const server of servers) await server.stop()
        await host.dispose()
      },
    }
  })
}

function sentinelConfig(primary: RedisServer, quorum: number): string {
  // Short timings so a failover test finishes in seconds: down after 1 s, failover timeout 3 s.
  return [
    `sentinel monitor ${SENTINEL_NAME} ${primary.host} ${primary.port} ${quorum}`,
    `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
    `sentinel failover-timeout ${SENTINEL_NAME} 3000`,
    `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
    '',
  ].join('\n')
}

/**
 * Primary, replica and one Sentinel (quorum 1), or `sentinels` of them (quorum: a majority).
 * Returned once every Sentinel reports the primary's address and knows the replica (and, with
 * several, the other Sentinels), so a failover can start right away.
 */
export async function startSentinel({ sentinels: count = 1 } = {}): Promise<RedisSentinelHandle> {
  const host = await topologyHost('startSentinel()', 2 + count)
  return building(async (onFailure) => {
    onFailure(() => host.dispose())
    const { primary, replica } = await launchPair(host, onFailure)
    const quorum = Math.floor(count / 2) + 1
    const sentinels: ManagedServer[] = []
    for (let i = 0; i < count; i++) {
      const sentinel = await ManagedServer.launch(host, { name: 'sentinel', sentinelConfig: sentinelConfig(primary, quorum) })
      onFailure(() => sentinel.stop())
      sentinels.push(sentinel)
    }
    for (const sentinel of sentinels) {
      const ask = (...args: string[]) => redisCall(sentinel.host, sentinel.port, ['SENTINEL', ...args])
      await waitUntil('the Sentinel to know the primary, its replica and its peers', async () => {
        const address = (await ask('get-master-addr-by-name', SENTINEL_NAME)) as string[] | null
        if (address?.[1] !== String(primary.port)) return false
        if (((await ask('replicas', SENTINEL_NAME)) as unknown[]).length === 0) return false
        return ((await ask('sentinels', SENTINEL_NAME)) as unknown[]).length === count - 1
      })
    }
    return {
      sentinels: sentinels.map(({ host: at, port }) => ({ host: at, port })),
      name: SENTINEL_NAME,
      primary,
      replica,
      async stop() {
        for (const sentinel of sentinels) await sentinel.stop()
        await replica.stop()
        await primary.stop()
        await host.dispose()
      },
    }
  })
}

async function stoppedAtTeardown<T extends { stop(): Promise<void> }>(t: Test, started: Promise<T>): Promise<T> {
  const handle = await started
  t.teardown(() => handle.stop())
  return handle
}

/** startRedis() with its stop() registered as the test's teardown; likewise the three below. */
export function redisFor(t: Test, options: { args?: string[] } = {}): Promise<RedisServer> {
  return stoppedAtTeardown(t, startRedis(options))
}

export function replicaPairFor(t: Test): Promise<ReplicaPair> {
  return stoppedAtTeardown(t, startReplicaPair())
}

export function clusterFor(t: Test, options: { fullCoverage?: boolean } = {}): Promise<RedisClusterHandle> {
  return stoppedAtTeardown(t, startCluster(options))
}

export function sentinelFor(t: Test, options: { sentinels?: number } = {}): Promise<RedisSentinelHandle> {
  return stoppedAtTeardown(t, startSentinel(options))
}
