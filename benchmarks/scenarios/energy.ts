/**
 * C. Before/after on the energy endpoints: the service as it ships (createEnergyServer, Redis
 * cache, worker pool), in its own process. "Before" is the real computation with the cache
 * bypassed: requests carrying an Authorization header skip a shared cache (RFC 9111 section 3.5,
 * the route does not opt in), so every one runs the handler (X-Cache: BYPASS, checked). "After"
 * is the same URL answered from the cache, sequential requests on one keep-alive connection.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { get, sampleLatency, sleep } from '../lib/load.js'
import { sharedRedis } from '../lib/redis.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtMs, fmtRatio, summarize, type LatencySummary } from '../lib/stats.js'
import { evaluate } from '../lib/targets.js'
import { SkipScenario, type BenchOptions, type Scenario, type ScenarioOutcome, type TargetResult } from '../lib/types.js'

const ENDPOINTS = ['gradient', 'monitor', 'calibrate'] as const
const BYPASS = { authorization: 'Bearer benchmark-bypass' }
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
  let config: { agents: number; threads: number | null }
  try {
    config = await server.call<{ agents: number; threads: number | null }>('config')
    progress(`  energy service up: ${config.agents} agents, Redis cache`)
    // Each worker thread builds its population on its first task (then keeps it for every
    // endpoint): one untimed task per worker first, on the cheapest endpoint.
    const threads = config.threads ?? availableParallelism()
    await Promise.all(Array.from({ length: threads }, () => get(`${server.url}/energy/monitor`, BYPASS)))
    for (const endpoint of ENDPOINTS) {
      const url = `${server.url}/energy/${endpoint}`
      const before: number[] = []
      for (let i = 0; i < uncached; i++) {
        const answer = await get(url, BYPASS)
        if (answer.status !== 200) throw new Error(`${endpoint} uncached answered ${answer.status}`)
        if (answer.headers['x-cache'] !== 'BYPASS') throw new Error(`${endpoint}: the bypass request was ${String(answer.headers['x-cache'])}, not BYPASS`)
        before.push(answer.ms)
      }
      const fill = await get(url)
      if (fill.status !== 200) throw new Error(`${endpoint} answered ${fill.status}`)
      await settled(url)
      const after = await sampleLatency(url, cached, 1)
      const uncachedSummary = summarize(before)
      const result: EndpointResult = {
        endpoint,
        uncached: uncachedSummary,
        cached: after.summary,
        xcache: Object.fromEntries(after.xcache),
        ratio: uncachedSummary.p50 / after.summary.p50,
        ratioP99: uncachedSummary.p50 / after.summary.p99,
      }
      results.push(result)
      progress(`  /energy/${endpoint}: uncached ${fmtMs(result.uncached.p50)}, cached p50 ${fmtMs(result.cached.p50)} p99 ${fmtMs(result.cached.p99)}: ${fmtRatio(result.ratio)}`)
    }
  } finally {
    await server.stop()
  }
  const floors = await referenceFloors(redis.url, cached)
  progress(`  floor: prepared Buffer p99 ${fmtMs(floors[0]?.latency.p99 ?? Number.NaN)}, one ioredis GET p99 ${fmtMs(floors[1]?.latency.p99 ?? Number.NaN)}`)
  const targets: TargetResult[] = []
  for (const r of results) {
    targets.push(
      evaluate({ id: `C-${r.endpoint}-ratio`, scenario: 'C', what: `/energy/${r.endpoint}: uncached p50 / cached p50`, comparator: '>=', target: 1000, unit: 'x' }, r.ratio, options.quick),
      evaluate(
        { id: `C-${r.endpoint}-p99`, scenario: 'C', what: `/energy/${r.endpoint}: cached p99`, comparator: '<=', target: 5, quick: 6, full: 5.5, unit: 'ms', margin: 'quick: passes at <= 6 ms, full: <= 5.5 ms' },
        r.cached.p99,
        options.quick,
      ),
    )
  }
  return {
    tables: [
      {
        title: `Before/after, ${config.agents} agents (ENERGY_AGENTS), cache on Redis`,
        head: ['endpoint', 'uncached p50', 'uncached max', 'cached p50', 'cached p99', 'cached max', 'p50 / p50', 'p50 / cached p99', 'cached answers'],
        rows: results.map((r) => [
          `/energy/${r.endpoint}`,
          fmtMs(r.uncached.p50),
          fmtMs(r.uncached.max),
          fmtMs(r.cached.p50),
          fmtMs(r.cached.p99),
          fmtMs(r.cached.max),
          fmtRatio(r.ratio),
          fmtRatio(r.ratioP99),
          Object.entries(r.xcache).map(([k, v]) => `${k} ${v}`).join(', '),
        ]),
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
      `Uncached: ${uncached} sequential requests per endpoint with an Authorization header, which the cache bypasses (X-Cache: BYPASS checked on each); one untimed task per worker thread first, since each worker builds its population on its first task. ` +
        `Cached: ${cached} sequential requests per endpoint on one keep-alive connection, once the endpoint answers HIT (a fill that ends after its bucket is served STALE while a refresh recomputes it; the measurement starts after that refresh, so it is not timed next to a computation by accident; scenario G measures that case); latency measured in the client, so it includes loopback HTTP.`,
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
    data: { config, results, floors },
  }
}

export const energy: Scenario = { id: 'C', title: 'Before/after on the energy endpoints', run: runEnergy }
