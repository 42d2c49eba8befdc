/**
 * F. Memory under a cache-buster flood: every request carries a new query string, so every one
 * is a new key (the route keys on the whole query, the library default). MemoryStore with a
 * small byte budget must stay within it; the same flood against a MemoryStore with no practical
 * budget shows what the budget prevents.
 */
import autocannon from 'autocannon'
import { get, throughput, sleep } from '../lib/load.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtBytes, fmtInt, round } from '../lib/stats.js'
import { evaluate, memoryTargets } from '../lib/targets.js'
import type { BenchOptions, Scenario, ScenarioOutcome, TargetResult } from '../lib/types.js'

const MiB = 2 ** 20
const BUDGET = 8 * MiB
const BODY_BYTES = 16 * 1024
const CONNECTIONS = 50
/** Allowed over the budget for memory still held after a GC: per-entry bookkeeping the store estimates. */
const RETAINED_MARGIN = 0.25
/** Allowed over the budget for the peak RSS during the flood: garbage not yet collected, socket buffers. */
const RSS_MARGIN = 48 * MiB

interface Memory {
  rss: number
  heapUsed: number
  external: number
  arrayBuffers: number
}

interface FloodResult {
  store: string
  requests: number
  entries: number | null
  storeBytes: number | null
  baseline: Memory
  after: Memory
  peakRss: number
  retainedGrowth: number
  rssPeakGrowth: number
}

async function flood(store: 'memory' | 'unbounded', requests: number, progress: (line: string) => void): Promise<FloodResult> {
  const server = await ServerProcess.start(
    'cache-server.ts',
    { STORE: store, MAX_BYTES: BUDGET, BODY_BYTES, BENCH_PREFIX: `bench-f-${Date.now().toString(36)}` },
    ['--expose-gc'],
  )
  try {
    // Warm the code paths with a few keys, then take the baseline after a GC.
    await throughput(server.url, { connections: 4, duration: 1, path: '/slow?warm=1' })
    await get(`${server.url}/slow?warm=2`)
    const baseline = await server.call<Memory>('memory')
    let peakRss = baseline.rss
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const usage = await server.call<Memory>('memory', { gc: false }).catch(() => undefined)
        if (usage) peakRss = Math.max(peakRss, usage.rss)
        await sleep(250)
      }
    })()
    let n = 0
    const result = await autocannon({
      url: server.url,
      connections: CONNECTIONS,
      amount: requests,
      requests: [{ setupRequest: (request) => ({ ...request, path: `/slow?_=${++n}` }) }],
    })
    sampling = false
    await sampler
    const after = await server.call<Memory>('memory')
    peakRss = Math.max(peakRss, after.rss)
    const held = await server.call<{ bytes: number; entries: number } | null>('storeBytes')
    const retained = (m: Memory): number => m.heapUsed + m.external
    const out: FloodResult = {
      store,
      requests: result['2xx'],
      entries: held?.entries ?? null,
      storeBytes: held?.bytes ?? null,
      baseline,
      after,
      peakRss,
      retainedGrowth: retained(after) - retained(baseline),
      rssPeakGrowth: peakRss - baseline.rss,
    }
    progress(`  ${store}: ${fmtInt(out.requests)} unique keys, retained +${fmtBytes(out.retainedGrowth)}, peak RSS +${fmtBytes(out.rssPeakGrowth)}`)
    return out
  } finally {
    await server.stop()
  }
}

async function runMemory(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  const requests = options.quick ? 6_000 : 30_000
  const bounded = await flood('memory', requests, progress)
  const unbounded = await flood('unbounded', requests, progress)
  const floodBytes = bounded.requests * BODY_BYTES
  const specs = memoryTargets(BUDGET / MiB, RETAINED_MARGIN, RSS_MARGIN / MiB)
  const targets: TargetResult[] = [
    evaluate(
      specs.F1,
      bounded.retainedGrowth / MiB,
      options.quick,
    ),
    evaluate(
      specs.F2,
      bounded.rssPeakGrowth / MiB,
      options.quick,
    ),
  ]
  const row = (r: FloodResult, label: string): string[] => [
    label,
    fmtInt(r.requests),
    r.entries === null ? 'n/a' : fmtInt(r.entries),
    r.storeBytes === null ? 'n/a' : fmtBytes(r.storeBytes),
    fmtBytes(r.baseline.rss),
    `+${fmtBytes(r.retainedGrowth)}`,
    `+${fmtBytes(r.rssPeakGrowth)}`,
    `+${fmtBytes(r.after.rss - r.baseline.rss)}`,
  ]
  return {
    tables: [
      {
        title: `Cache-buster flood: ${fmtInt(requests)} requests on ${CONNECTIONS} connections, a new query string per request, ${BODY_BYTES / 1024} KiB bodies`,
        head: ['store', 'unique keys', 'entries held', 'bytes counted', 'RSS before', 'held after GC (heap + external)', 'peak RSS', 'RSS after'],
        rows: [row(bounded, `MemoryStore, maxBytes ${BUDGET / MiB} MiB`), row(unbounded, 'MemoryStore, no practical budget (reference)')],
      },
    ],
    notes: [
      `The flood offered about ${fmtBytes(floodBytes)} of bodies to the bounded store, ${round(floodBytes / BUDGET, 1)}x its budget.`,
      'Memory is read in the server process (process.memoryUsage(), after global.gc() with --expose-gc); peak RSS is sampled every 250 ms during the flood.',
      `Margins, fixed before measuring: what stays held after a GC may exceed the budget by ${RETAINED_MARGIN * 100}% (the store estimates per-entry bookkeeping at 96 bytes); ` +
        `peak RSS may exceed it by ${RSS_MARGIN / MiB} MiB (young-generation garbage of ${fmtInt(bounded.requests)} requests not yet collected, socket buffers, allocator slack).`,
    ],
    targets,
    charts: [
      {
        title: 'Cache-buster flood: memory held after GC over baseline (MiB)',
        unit: 'MiB',
        bars: [
          { label: `MemoryStore, maxBytes ${BUDGET / MiB} MiB`, value: bounded.retainedGrowth / MiB, highlight: true },
          { label: 'MemoryStore, no budget', value: unbounded.retainedGrowth / MiB },
        ],
      },
    ],
    data: { budget: BUDGET, bodyBytes: BODY_BYTES, bounded, unbounded },
  }
}

export const memory: Scenario = { id: 'F', title: 'Memory under a cache-buster flood', run: runMemory }
