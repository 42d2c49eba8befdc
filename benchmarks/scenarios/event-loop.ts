/**
 * G. Event loop: latency of cached answers while a long computation runs, against the same
 * server idle. The computation runs on a worker thread as the energy service runs its own
 * (piscina); a variant burning the CPU on the main thread shows what that design avoids. When
 * the energy service exists, the same is measured on it: cached /energy/monitor while
 * /energy/gradient computes uncached.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { uncachedOnce, warmWorkers } from '../lib/energy-service.js'
import { get, paced } from '../lib/load.js'
import { sharedRedis } from '../lib/redis.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtMs, fmtRatio, summarize, type LatencySummary } from '../lib/stats.js'
import type { BenchOptions, Scenario, ScenarioOutcome } from '../lib/types.js'

const RATE = 200
const CONNECTIONS = 10

interface Pair {
  label: string
  idle: LatencySummary
  busy: LatencySummary
  computations: number
  failed: number
}

async function measure(url: string, seconds: number): Promise<{ latency: LatencySummary; failed: number }> {
  const run = await paced(url, { connections: CONNECTIONS, duration: seconds, rate: RATE })
  const ok = run.points.filter((p) => p.status === 200)
  return { latency: summarize(ok.map((p) => p.ms)), failed: run.points.length - ok.length }
}

/** Keeps one computation running (`compute(i)` after `compute(i - 1)`) until `stop` resolves. */
async function keepBusy(compute: (i: number) => Promise<unknown>, stop: Promise<void>): Promise<number> {
  let done = false
  void stop.then(() => {
    done = true
  })
  let runs = 0
  while (!done) {
    await compute(runs)
    runs++
  }
  return runs
}

async function pair(label: string, hitUrl: string, compute: (i: number) => Promise<unknown>, seconds: number, leadMs: number): Promise<Pair> {
  const fill = await get(hitUrl)
  if (fill.status !== 200) throw new Error(`${hitUrl} answered ${fill.status}`)
  const idle = await measure(hitUrl, seconds)
  let release!: () => void
  const stop = new Promise<void>((resolve) => {
    release = resolve
  })
  const busyLoop = keepBusy(compute, stop)
  await new Promise((resolve) => setTimeout(resolve, leadMs)) // the computation is under way
  const busy = await measure(hitUrl, seconds)
  release()
  const computations = await busyLoop
  return { label, idle: idle.latency, busy: busy.latency, computations, failed: idle.failed + busy.failed }
}

async function runEventLoop(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  const seconds = options.quick ? 2 : 8
  const pairs: Pair[] = []
  const notes: string[] = []
  // The main-thread variant only illustrates what the worker design avoids: full mode only.
  const modes = options.quick ? (['worker'] as const) : (['worker', 'main'] as const)
  if (options.quick) notes.push('Quick mode leaves out the main-thread reference case; `npm run bench` runs it.')
  for (const mode of modes) {
    const busyMs = mode === 'worker' ? 1500 : 500
    const server = await ServerProcess.start('cache-server.ts', { STORE: 'memory', BUSY_MODE: mode, BUSY_MS: busyMs, BENCH_PREFIX: `bench-g-${mode}` })
    try {
      const label = mode === 'worker' ? `${busyMs} ms computation on a worker thread` : `${busyMs} ms computation on the main thread (reference)`
      const result = await pair(label, `${server.url}/hit`, (i) => get(`${server.url}/busy?run=${i}`, {}, 120_000), seconds, 100)
      pairs.push(result)
      progress(`  ${label}: cached p99 idle ${fmtMs(result.idle.p99)}, busy ${fmtMs(result.busy.p99)}`)
    } finally {
      await server.stop()
    }
  }
  if (existsSync(fileURLToPath(new URL('../../src/energy/server.ts', import.meta.url)))) {
    const redis = await sharedRedis()
    // Only the event loop matters here, not the size of "before": a smaller population in quick mode.
    const agents = options.quick ? 1000 : undefined
    const server = await ServerProcess.start('energy-server.ts', { REDIS_URL: redis.url, ...(agents ? { ENERGY_AGENTS: agents } : {}) })
    try {
      // Build each worker's population first, so "busy" is the computation itself.
      await warmWorkers(server)
      const label = 'energy service: cached /energy/monitor while /energy/gradient computes uncached'
      const result = await pair(label, `${server.url}/energy/monitor`, () => uncachedOnce(server, 'gradient'), seconds, 200)
      pairs.push(result)
      progress(`  energy service: cached p99 idle ${fmtMs(result.idle.p99)}, busy ${fmtMs(result.busy.p99)}`)
    } finally {
      await server.stop()
    }
  } else {
    notes.push('The energy service part was left out: src/energy/server.ts does not exist yet.')
  }
  return {
    tables: [
      {
        title: `Cached answers at ${RATE} req/s (evenly spaced) on ${CONNECTIONS} connections, ${seconds} s idle then ${seconds} s while a computation runs`,
        head: ['case', 'idle p50', 'idle p99', 'busy p50', 'busy p99', 'busy max', 'p99 busy / idle', 'computations', 'failed'],
        rows: pairs.map((p) => [
          p.label,
          fmtMs(p.idle.p50),
          fmtMs(p.idle.p99),
          fmtMs(p.busy.p50),
          fmtMs(p.busy.p99),
          fmtMs(p.busy.max),
          fmtRatio(p.busy.p99 / p.idle.p99),
          String(p.computations),
          String(p.failed),
        ]),
      },
    ],
    notes: [
      'Latency counts from when a request was due (evenly spaced schedule), so a blocked event loop is charged for every request that waited on it.',
      'No target is set for this scenario (neither the issue nor the brief gives one): it is reported for reading. One computation is kept running for the whole busy period.',
      'On 2 cores a worker thread computing takes one of them, so the server, the load generator and the worker share what is left: some rise in p99 comes from that, not from the event loop.',
      ...notes,
    ],
    targets: [],
    charts: [
      {
        title: 'Cached answers p99: idle vs during a long computation (ms)',
        unit: 'ms',
        // The main-thread reference is two orders of magnitude above the rest.
        log: pairs.some((p) => p.busy.p99 > 20 * p.idle.p99),
        bars: pairs.flatMap((p) => [
          { label: `${p.label.split(':')[0]}, idle`, value: p.idle.p99 },
          { label: `${p.label.split(':')[0]}, busy`, value: p.busy.p99, highlight: true },
        ]),
      },
    ],
    data: pairs,
  }
}

export const eventLoop: Scenario = { id: 'G', title: 'Event loop: cached answers during a long computation', run: runEventLoop }
