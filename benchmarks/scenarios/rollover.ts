/**
 * E. Rollover: steady load on a route with a 1 s bucket and a handler that takes 100 ms, across
 * several bucket rollovers, with `warm` off and on. Without warm and without stale answers (the
 * seed's design) every rollover makes the requests that arrive during the recomputation wait
 * for it; warm computes the next bucket shortly before the rollover instead.
 */
import { get, paced } from '../lib/load.js'
import { sharedRedis } from '../lib/redis.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtInt, fmtMs, fmtPct, summarize } from '../lib/stats.js'
import { evaluate, rolloverTarget } from '../lib/targets.js'
import type { BenchOptions, Scenario, ScenarioOutcome, TargetResult } from '../lib/types.js'

const WINDOW_S = 1
const HANDLER_MS = 100
const SLOW_MS = 50
const CONNECTIONS = 50

interface Config {
  id: string
  label: string
  env: Record<string, string>
}

const CONFIGS: Config[] = [
  { id: 'seed', label: 'warm off, stale 0 (the seed design)', env: { STALE: '0' } },
  { id: 'warm', label: 'warm on, stale 0', env: { STALE: '0', WARM: '1' } },
  { id: 'stale', label: 'warm off, stale = window (library default)', env: {} },
  { id: 'warm-stale', label: 'warm on, stale = window', env: { WARM: '1' } },
]

interface ConfigResult {
  id: string
  label: string
  store: string
  answers: number
  failed: number
  slow: number
  share: number
  rollovers: number
  computations: number
  p50: number
  p99: number
  max: number
}

async function runConfig(config: Config, store: 'memory' | 'redis', seconds: number, rate: number): Promise<ConfigResult> {
  const redis = store === 'redis' ? await sharedRedis() : undefined
  const server = await ServerProcess.start('cache-server.ts', {
    STORE: store,
    ...(redis ? { REDIS_URL: redis.url } : {}),
    BENCH_PREFIX: `bench-e-${config.id}-${Date.now().toString(36)}`,
    WINDOW: WINDOW_S,
    HANDLER_MS,
    ...config.env,
  })
  try {
    await get(`${server.url}/slow`)
    // Start just after a rollover, so the run holds whole windows and the first one is warm.
    const windowMs = WINDOW_S * 1000
    await new Promise((resolve) => setTimeout(resolve, windowMs - (Date.now() % windowMs) + 200))
    await get(`${server.url}/slow`)
    const before = (await server.call<{ computations: number }>('stats')).computations
    const run = await paced(server.url, { connections: CONNECTIONS, duration: seconds, path: '/slow', rate })
    const computations = (await server.call<{ computations: number }>('stats')).computations - before
    const ok = run.points.filter((p) => p.status === 200)
    const latency = summarize(ok.map((p) => p.ms))
    const slow = run.points.filter((p) => !(p.ms <= SLOW_MS)).length
    const endMs = run.started + (run.points.at(-1)?.at ?? 0)
    return {
      id: config.id,
      label: config.label,
      store,
      answers: run.points.length,
      failed: run.points.length - ok.length,
      slow,
      share: slow / Math.max(1, run.points.length),
      rollovers: Math.floor(endMs / windowMs) - Math.floor(run.started / windowMs),
      computations,
      p50: latency.p50,
      p99: latency.p99,
      max: latency.max,
    }
  } finally {
    await server.stop()
  }
}

async function runRollover(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  // Started 200 ms into a window, 4.5 s hold 4 rollovers.
  const seconds = options.quick ? 4.5 : 10.5
  const rate = options.quick ? 400 : 500
  const stores: Array<'memory' | 'redis'> = options.quick ? ['redis'] : ['redis', 'memory']
  const configs = options.quick ? CONFIGS.filter((c) => c.id !== 'warm-stale') : CONFIGS
  const results: ConfigResult[] = []
  for (const store of stores) {
    for (const config of configs) {
      const result = await runConfig(config, store, seconds, rate)
      results.push(result)
      progress(`  ${store}, ${config.label}: ${fmtPct(result.share, 2)} slower than ${SLOW_MS} ms over ${result.rollovers} rollovers`)
    }
  }
  const warmRedis = results.find((r) => r.id === 'warm' && r.store === 'redis')
  const targets: TargetResult[] = [
    evaluate(
      rolloverTarget(SLOW_MS),
      // Fewer than four rollovers would not be the measurement the target is about.
      warmRedis && warmRedis.rollovers >= 4 ? warmRedis.share * 100 : Number.NaN,
      options.quick,
    ),
  ]
  return {
    tables: [
      {
        title: `${rate} req/s for ${seconds} s, ${WINDOW_S} s buckets, handler ${HANDLER_MS} ms`,
        head: ['store', 'configuration', 'rollovers', 'answers', `slower than ${SLOW_MS} ms`, 'share', 'p50', 'p99', 'max', 'computations', 'failed'],
        rows: results.map((r) => [
          r.store,
          r.label,
          String(r.rollovers),
          fmtInt(r.answers),
          fmtInt(r.slow),
          fmtPct(r.share, 2),
          fmtMs(r.p50),
          fmtMs(r.p99),
          fmtMs(r.max),
          String(r.computations),
          String(r.failed),
        ]),
      },
    ],
    notes: [
      'Each configuration runs in a fresh server, started just after a rollover with its first bucket filled; "computations" counts handler runs during the measured run.',
      `Load: ${rate} requests per second evenly spaced over ${CONNECTIONS} keep-alive connections, so requests arrive in every part of every window (warm needs a hit in the last part of a window to start); latency counts from when a request was due.`,
      'stale = window serves the previous bucket while one request refreshes it in the background, so it hides rollovers even without warm; the target is about warm alone (stale 0).',
      ...(options.quick ? ['Quick mode runs RedisStore only and leaves out "warm on, stale = window"; `npm run bench` runs both stores and all four configurations.'] : []),
    ],
    targets,
    charts: [
      {
        title: `Rollover: share of requests slower than ${SLOW_MS} ms (%)`,
        unit: '%',
        bars: results.map((r) => ({ label: `${r.store}: ${r.label}`, value: r.share * 100, highlight: r.id !== 'seed' })),
      },
    ],
    data: results,
  }
}

export const rollover: Scenario = { id: 'E', title: 'Bucket rollover with warm off and on', run: runRollover }
