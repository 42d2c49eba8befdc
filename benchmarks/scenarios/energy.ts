/**
 * C. Before/after on the energy endpoints: the service as it ships (createEnergyServer, Redis
 * cache, worker pool), in its own process. "Before" is the real computation through the whole
 * stack: the endpoint is invalidated before each request, which then misses (X-Cache: MISS,
 * checked) and computes. "After" is the same URL answered from the cache, sequential requests on
 * one keep-alive connection, taken while no computation runs (the cache's computation counter is
 * read before and after, and a sample that overlapped one is taken again). The cached p99 while a
 * computation runs is measured too and reported without a target.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ENERGY_ENDPOINTS, uncachedOnce, warmWorkers } from '../lib/energy-service.js'
import { get, sampleLatency, sleep } from '../lib/load.js'
import { sharedRedis } from '../lib/redis.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtMs, fmtRatio, summarize, type LatencySummary } from '../lib/stats.js'

function fmtKiB(bytes: number): string {
  return bytes >= 10 * 1024 ? `${Math.round(bytes / 1024).toLocaleString('en-US')} KiB` : `${bytes} B`
}
import { energyP99Target, energyRatioTarget, evaluate } from '../lib/targets.js'
import { SkipScenario, type BenchOptions, type Scenario, type ScenarioOutcome, type TargetResult } from '../lib/types.js'

/** Samples of a cached p99 thrown away because a computation ran during them, at most. */
const RESAMPLES = 3
/** The seed document's own table: before and after in seconds, and the "improvement" it printed. */
const SEED_TABLE = [
  { endpoint: 'gradient', before: 16.8, after: 0.05, printed: '16.8x' },
  { endpoint: 'monitor', before: 7, after: 0.02, printed: '350x' },
  { endpoint: 'calibrate', before: 15, after: 0.015, printed: '1000x' },
]

interface EndpointResult {
  endpoint: string
  uncached: LatencySummary
  cached: LatencySummary
  /** Samples thrown away because a computation overlapped them. */
  resampled: number
  /** Size of the cached answer's body: monitor's grows with the population. */
  bodyBytes: number
  xcache: Record<string, number>
  /** uncached p50 / cached p50 */
  ratio: number
  /** uncached p50 / cached p99: the conservative reading */
  ratioP99: number
}

function settings(quick: boolean): { agents: number | undefined; uncached: number; cached: number } {
  const agents = process.env.BENCH_ENERGY_AGENTS ? Number(process.env.BENCH_ENERGY_AGENTS) : undefined
  return quick ? { agents, uncached: 2, cached: 500 } : { agents, uncached: 5, cached: 2000 }
}

/**
 * Waits until the endpoint answers HIT: a computation that ends after its bucket did is served
 * STALE while a background refresh recomputes it, and that refresh (seconds on a worker, a whole
 * core of two) would land inside the cached measurement by the timing of this script alone.
 */
async function settled(url: string): Promise<void> {
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline) {
    const answer = await get(url)
    if (answer.headers['x-cache'] === 'HIT') return
    await sleep(250)
  }
  throw new Error(`${url} did not answer HIT within 120 s`)
}

/**
 * The same sequential measurement against the hit-throughput scenario's ceiling (a route
 * returning a prepared Buffer) and its plain ioredis GET route: what this machine's loopback,
 * Node and Koa cost before any cache, so a cached p99 can be read against them.
 */
async function referenceFloors(redisUrl: string, count: number): Promise<Array<{ label: string; latency: LatencySummary }>> {
  const floors: Array<{ label: string; latency: LatencySummary }> = []
  const cases: Array<[string, string]> = [
    ['ceiling', 'reference: Koa route returning a prepared 2 KB Buffer, no cache'],
    ['redis-get', 'reference: Koa route doing one ioredis GET, no cache'],
  ]
  for (const [kind, label] of cases) {
    const server = await ServerProcess.start('hit-server.ts', { BENCH_CASE: kind, REDIS_URL: redisUrl, BENCH_PREFIX: `bench-c-${kind}` })
    try {
      await sampleLatency(`${server.url}/payload`, 100, 1)
      floors.push({ label, latency: (await sampleLatency(`${server.url}/payload`, count, 1)).summary })
    } finally {
      await server.stop()
    }
  }
  return floors
}

async function computations(server: ServerProcess): Promise<number> {
  return (await server.call<{ computations: number }>('health')).computations
}

/** Cached latency while no computation runs: a sample that overlapped one is taken again. */
async function cachedQuietly(server: ServerProcess, url: string, count: number): Promise<{ sample: Awaited<ReturnType<typeof sampleLatency>>; resampled: number }> {
  for (let resampled = 0; ; resampled++) {
    await settled(url)
    const before = await computations(server)
    const sample = await sampleLatency(url, count, 1)
    if ((await computations(server)) === before || resampled >= RESAMPLES) return { sample, resampled }
  }
}

/** Cached latency of `url` while `endpoint` computes in a worker (uncached): no target, users ask. */
async function cachedDuringComputation(server: ServerProcess, url: string, endpoint: string, count: number): Promise<LatencySummary> {
  const computing = uncachedOnce(server, endpoint)
  await sleep(50) // let the request reach the worker pool
  const sample = await sampleLatency(url, count, 1)
  await computing
  return sample.summary
}

async function runEnergy(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  if (!existsSync(fileURLToPath(new URL('../../src/energy/server.ts', import.meta.url)))) {
    throw new SkipScenario('src/energy/server.ts does not exist yet')
  }
  const { agents, uncached, cached } = settings(options.quick)
  const redis = await sharedRedis()
  // Energy keys live under the fixed namespace `energy:`; start from none of them.
  const server = await ServerProcess.start('energy-server.ts', {
    REDIS_URL: redis.url,
    ...(agents === undefined ? {} : { ENERGY_AGENTS: agents }),
  })
  const results: EndpointResult[] = []
  let during: LatencySummary | undefined
  let config: { agents: number; threads: number | null }
  try {
    config = await server.call<{ agents: number; threads: number | null }>('config')
    progress(`  energy service up: ${config.agents} agents, Redis cache`)
    await warmWorkers(server)
    for (const endpoint of ENERGY_ENDPOINTS) {
      const url = `${server.url}/energy/${endpoint}`
      const before: number[] = []
      for (let i = 0; i < uncached; i++) before.push(await uncachedOnce(server, endpoint))
      const { sample: after, resampled } = await cachedQuietly(server, url, cached)
      const bodyBytes = (await get(url)).body.length
      const uncachedSummary = summarize(before)
      const result: EndpointResult = {
        endpoint,
        uncached: uncachedSummary,
        cached: after.summary,
        resampled,
        bodyBytes,
        xcache: Object.fromEntries(after.xcache),
        ratio: uncachedSummary.p50 / after.summary.p50,
        ratioP99: uncachedSummary.p50 / after.summary.p99,
      }
      results.push(result)
      progress(`  /energy/${endpoint}: uncached ${fmtMs(result.uncached.p50)}, cached p50 ${fmtMs(result.cached.p50)} p99 ${fmtMs(result.cached.p99)}: ${fmtRatio(result.ratio)}`)
    }
    during = await cachedDuringComputation(server, `${server.url}/energy/monitor`, 'gradient', cached)
    progress(`  /energy/monitor cached while /energy/gradient computes: p50 ${fmtMs(during.p50)} p99 ${fmtMs(during.p99)}`)
  } finally {
    await server.stop()
  }
  const floors = await referenceFloors(redis.url, cached)
  progress(`  floor: prepared Buffer p99 ${fmtMs(floors[0]?.latency.p99 ?? Number.NaN)}, one ioredis GET p99 ${fmtMs(floors[1]?.latency.p99 ?? Number.NaN)}`)
  const floorP99 = floors[0]?.latency.p99 ?? Number.NaN
  const targets: TargetResult[] = []
  for (const r of results) {
    targets.push(
      evaluate(energyRatioTarget(r.endpoint), r.ratio, options.quick),
      evaluate(energyP99Target(r.endpoint, floorP99), r.cached.p99, options.quick),
    )
  }
  return {
    tables: [
      {
        title: `Before/after, ${config.agents} agents (ENERGY_AGENTS), cache on Redis`,
        head: ['endpoint', 'body', 'uncached p50', 'uncached max', 'cached p50', 'cached p99', 'cached max', 'p50 / p50', 'p50 / cached p99', 'cached answers', 'samples retaken'],
        rows: results.map((r) => [
          `/energy/${r.endpoint}`,
          fmtKiB(r.bodyBytes),
          fmtMs(r.uncached.p50),
          fmtMs(r.uncached.max),
          fmtMs(r.cached.p50),
          fmtMs(r.cached.p99),
          fmtMs(r.cached.max),
          fmtRatio(r.ratio),
          fmtRatio(r.ratioP99),
          Object.entries(r.xcache).map(([k, v]) => `${k} ${v}`).join(', '),
          String(r.resampled),
        ]),
      },
      {
        title: 'Cached answers while a computation runs (no target): /energy/monitor while /energy/gradient computes in a worker',
        head: ['p50', 'p90', 'p99', 'max'],
        rows: during ? [[fmtMs(during.p50), fmtMs(during.p90), fmtMs(during.p99), fmtMs(during.max)]] : [],
      },
      {
        title: 'The same sequential measurement without any cache: the floor of this machine',
        head: ['route', 'p50', 'p90', 'p99', 'max'],
        rows: floors.map((f) => [f.label, fmtMs(f.latency.p50), fmtMs(f.latency.p90), fmtMs(f.latency.p99), fmtMs(f.latency.max)]),
      },
      {
        title: "The seed document's table, recomputed (before / after)",
        head: ['endpoint', 'before', 'after', 'printed', 'correct ratio'],
        rows: SEED_TABLE.map((s) => [`/energy/${s.endpoint}`, `${s.before} s`, `${s.after} s`, s.printed, fmtRatio(s.before / s.after)]),
      },
    ],
    notes: [
      `Uncached: ${uncached} sequential requests per endpoint, each after the endpoint was invalidated, so each misses (X-Cache: MISS checked) and computes; one untimed computation of every endpoint at once first, since each worker thread builds its population on its first task. ` +
        `Cached: ${cached} sequential requests per endpoint on one keep-alive connection, once the endpoint answers HIT, taken again (at most ${RESAMPLES} times) when the cache's computation counter moved during the sample (a warm-up or refresh ran next to it); latency measured in the client, so it includes loopback HTTP.`,
      'The p99 target compares each cached p99 with the floor route measured the same way in the same run (a Koa route returning a prepared Buffer, no cache) plus 1 ms.',
      'A ratio is before / after: 16.8 s -> 0.05 s is 336x, not the 16.8x the seed printed.',
      `ENERGY_AGENTS is the service default unless BENCH_ENERGY_AGENTS is set: the cost of every endpoint grows with its square, so a smaller population shrinks "before" and with it the ratio the target is about.`,
    ],
    targets,
    charts: [
      {
        title: 'Energy endpoints: uncached vs cached p50 (ms)',
        unit: 'ms',
        log: true,
        bars: results.flatMap((r) => [
          { label: `/energy/${r.endpoint} uncached`, value: r.uncached.p50 },
          { label: `/energy/${r.endpoint} cached`, value: r.cached.p50, highlight: true },
        ]),
      },
    ],
    data: { config, results, floors, during },
  }
}

export const energy: Scenario = { id: 'C', title: 'Before/after on the energy endpoints', run: runEnergy }
