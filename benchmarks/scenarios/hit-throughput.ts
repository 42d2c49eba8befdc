/**
 * A. Hit throughput: one Koa app, one ~2 KB JSON payload, each case in its own server process,
 * loaded in turn by autocannon from this process. Cases run in interleaved rounds (the order
 * rotates each round) and each reports its best round, so a burst of other work on the machine
 * hurts one round of one case rather than one case as a whole.
 */
import { get, throughput, type ThroughputResult } from '../lib/load.js'
import { DIAGNOSTIC_CASES, HIT_CASES, HIT_CASE_LABELS, needsRedis, type HitCase } from '../lib/hit-cases.js'
import { PAYLOAD_BYTES } from '../lib/payload.js'
import { sharedRedis, type RedisServer } from '../lib/redis.js'
import { redisCpuMicros } from '../lib/redis-cpu.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtInt, fmtMs, fmtPct, fmtRatio, round } from '../lib/stats.js'
import { evaluate } from '../lib/targets.js'
import type { BenchOptions, Scenario, ScenarioOutcome, TargetResult } from '../lib/types.js'

const CONNECTIONS = 50

interface RoundResult extends ThroughputResult {
  /** Server process CPU per answered request, microseconds. */
  cpuUs: number
  /** redis-server CPU per answered request, microseconds (0 for in-memory cases). */
  redisUs: number
}

interface CaseResult {
  kind: HitCase
  label: string
  error?: string
  rounds: RoundResult[]
  best?: RoundResult
  /** Median over rounds of the server's CPU per request. */
  cpuUs?: number
  redisUs?: number
  computations?: number
  storeErrors?: number
  circuit?: string
  failures: number
}

/** One measured run, with the CPU the server (and Redis) spent on it. */
async function measure(server: ServerProcess, redis: RedisServer | undefined, duration: number): Promise<RoundResult> {
  const cpu0 = await server.call<number>('cpu')
  const redis0 = redis ? await redisCpuMicros(redis) : 0
  const measured = await throughput(server.url, { connections: CONNECTIONS, duration, path: '/payload' })
  const cpu1 = await server.call<number>('cpu')
  const redis1 = redis ? await redisCpuMicros(redis) : 0
  const answered = Math.max(1, measured.ok)
  return { ...measured, cpuUs: (cpu1 - cpu0) / answered, redisUs: (redis1 - redis0) / answered }
}

function plan(quick: boolean): { rounds: number; duration: number; warmup: number } {
  return quick ? { rounds: 3, duration: 2, warmup: 2 } : { rounds: 3, duration: 10, warmup: 3 }
}

/** Checks the case answers the payload, byte for byte, before any load. */
async function verify(server: ServerProcess, kind: HitCase): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const answer = await get(`${server.url}/payload`)
    if (answer.status !== 200) throw new Error(`${kind}: GET /payload answered ${answer.status}`)
    if (!answer.body.equals(PAYLOAD_BYTES)) throw new Error(`${kind}: GET /payload answered other bytes (${answer.body.length} B)`)
    if (i === 1 && kind.startsWith('cache-') && answer.headers['x-cache'] !== 'HIT') {
      throw new Error(`${kind}: second GET was ${String(answer.headers['x-cache'])}, not HIT`)
    }
  }
}

async function runHitThroughput(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  const { rounds, duration, warmup } = plan(options.quick)
  const redis = await sharedRedis()
  const stamp = Date.now().toString(36)
  const results = new Map<HitCase, CaseResult>()
  const servers = new Map<HitCase, ServerProcess>()
  try {
    for (const kind of casesFor(options)) {
      const result: CaseResult = { kind, label: HIT_CASE_LABELS[kind], rounds: [], failures: 0 }
      results.set(kind, result)
      try {
        const env = { BENCH_CASE: kind, BENCH_PREFIX: `bench-a-${stamp}-${kind}`, ...(needsRedis(kind) ? { REDIS_URL: redis.url } : {}) }
        const server = await ServerProcess.start('hit-server.ts', env)
        servers.set(kind, server)
        await verify(server, kind)
        await throughput(server.url, { connections: CONNECTIONS, duration: warmup, path: '/payload' })
      } catch (error) {
        result.error = firstLines(error)
        progress(`  ${kind}: cannot be measured: ${result.error}`)
        await servers.get(kind)?.stop()
        servers.delete(kind)
      }
    }
    const kinds = [...servers.keys()]
    for (let round = 0; round < rounds; round++) {
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as HitCase)
      for (const kind of order) {
        const server = servers.get(kind) as ServerProcess
        const result = results.get(kind) as CaseResult
        const measured = await measure(server, needsRedis(kind) ? redis : undefined, duration)
        result.rounds.push(measured)
        result.failures += measured.errors + measured.non2xx
        progress(
          `  round ${round + 1}/${rounds} ${kind}: ${fmtInt(measured.rps)} req/s, p99 ${fmtMs(measured.latency.p99)}, ` +
            `server CPU ${round1(measured.cpuUs)} us/req${needsRedis(kind) ? ` + redis ${round1(measured.redisUs)} us/req` : ''}`,
        )
      }
    }
    for (const [kind, server] of servers) {
      const result = results.get(kind) as CaseResult
      result.best = result.rounds.reduce<RoundResult | undefined>((best, r) => (!best || r.rps > best.rps ? r : best), undefined)
      // Other work on the machine only ever adds CPU time: the cheapest round is the closest to the cost.
      result.cpuUs = Math.min(...result.rounds.map((r) => r.cpuUs))
      result.redisUs = Math.min(...result.rounds.map((r) => r.redisUs))
      const stats = await server.call<{ computations: number; storeErrors: number; circuit: string }>('stats')
      result.computations = stats.computations
      result.storeErrors = stats.storeErrors
      result.circuit = stats.circuit
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()))
  }
  return report(results, options, { rounds, duration })
}

function round1(value: number): number {
  return round(value, 1)
}

/** The message's first line, plus the first line of the server's output that names an error. */
function firstLines(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).split('\n')
  const cause = lines.slice(1).find((line) => /error/i.test(line))
  return cause ? `${lines[0]}: ${cause.trim()}` : (lines[0] ?? '')
}

function casesFor(options: BenchOptions): HitCase[] {
  return HIT_CASES.filter((kind) => !options.quick || !DIAGNOSTIC_CASES.has(kind))
}

function rps(results: Map<HitCase, CaseResult>, kind: HitCase): number {
  return results.get(kind)?.best?.rps ?? Number.NaN
}

function report(results: Map<HitCase, CaseResult>, options: BenchOptions, run: { rounds: number; duration: number }): ScenarioOutcome {
  const ceiling = rps(results, 'ceiling')
  const kinds = HIT_CASES.filter((kind) => results.has(kind))
  const rows = kinds.map((kind) => {
    const r = results.get(kind) as CaseResult
    if (!r.best) return [r.label, 'not measured', '', '', '', '', '', '', r.error ?? 'no result']
    const errors = r.storeErrors ? `, ${r.storeErrors} store errors (circuit ${r.circuit})` : ''
    return [
      r.label,
      fmtInt(r.best.rps),
      r.rounds.map((x) => fmtInt(x.rps)).join(' / '),
      fmtPct(r.best.rps / ceiling),
      fmtMs(r.best.latency.p50),
      fmtMs(r.best.latency.p99),
      `${round1(r.cpuUs ?? Number.NaN)} us`,
      needsRedis(kind) ? `${round1(r.redisUs ?? Number.NaN)} us` : '-',
      `${r.computations ?? '?'} computed, ${r.failures} failed${errors}`,
    ]
  })
  const ratio = (a: HitCase, b: HitCase): number => rps(results, a) / rps(results, b)
  const cpu = (kind: HitCase): number => results.get(kind)?.cpuUs ?? Number.NaN
  /** Requests per CPU-second of the server process, b's cost over a's: a saturated server's throughput ratio. */
  const cpuRatio = (a: HitCase, b: HitCase): number => cpu(b) / cpu(a)
  const comparisons: Array<[string, HitCase, HitCase]> = [
    ['MemoryStore hit / ceiling', 'cache-memory', 'ceiling'],
    ['RedisStore hit / plain ioredis GET', 'cache-redis', 'redis-get'],
    ['RedisStore hit / Keyv + @keyv/redis', 'cache-redis', 'keyv-redis'],
    ['RedisStore hit / koa-cash on Redis', 'cache-redis', 'koa-cash-redis'],
    ['RedisStore hit / bentocache redis (L2)', 'cache-redis', 'bento-redis'],
    ['MemoryStore hit / koa-cash on lru-cache', 'cache-memory', 'koa-cash-memory'],
    ['MemoryStore hit / bentocache memory (L1)', 'cache-memory', 'bento-memory'],
    ['RedisStore stale: 0 (GET) / default (MGET of 2 keys)', 'cache-redis-single-get', 'cache-redis'],
    ['RedisStore with auto-pipelining / default', 'cache-redis-autopipeline', 'cache-redis'],
  ]
  const targets: TargetResult[] = [
    evaluate(
      { id: 'A1', scenario: 'A', what: 'MemoryStore hit throughput, share of the ceiling', comparator: '>=', target: 95, quick: 90, full: 93, unit: '%', margin: 'quick: passes at >= 90%, full: >= 93%' },
      ratio('cache-memory', 'ceiling') * 100,
      options.quick,
    ),
    evaluate(
      { id: 'A2', scenario: 'A', what: 'RedisStore hit throughput, share of a plain ioredis GET route', comparator: '>=', target: 95, quick: 90, full: 93, unit: '%', margin: 'quick: passes at >= 90%, full: >= 93%' },
      ratio('cache-redis', 'redis-get') * 100,
      options.quick,
    ),
    evaluate(
      { id: 'A3', scenario: 'A', what: 'RedisStore hit throughput over Keyv + @keyv/redis', comparator: '>=', target: 2.5, quick: 2.25, full: 2.4, unit: 'x', margin: 'quick: passes at >= 2.25x, full: >= 2.4x' },
      ratio('cache-redis', 'keyv-redis'),
      options.quick,
    ),
  ]
  const measured = kinds.filter((kind) => results.get(kind)?.best)
  const notes = [
    `${CONNECTIONS} connections, ${run.rounds} interleaved rounds of ${run.duration} s per case after a warm-up; each case reports its best round (all rounds listed). ` +
      'Every case runs in its own server process; autocannon runs in the runner process.',
    'Every case answers the same 2,073-byte JSON body, checked byte for byte before the load; "computed" counts payload computations over the whole scenario (1 = every measured request was a hit).',
    'On 2 cores the server, autocannon and (for Redis cases) redis-server share the CPUs, so the ceiling is also bounded by the load generator; ratios are the numbers that travel.',
    '"server CPU / req" is the server process\'s user + system CPU time over the run divided by the answers (cheapest round); "redis CPU / req" is redis-server\'s (INFO cpu). ' +
      'It is a second view of the cost of a hit, less swayed than req/s by whatever else runs on the machine, though not immune: a server that answers fewer requests per event-loop turn pays more per request.',
  ]
  if (options.quick) notes.push('Quick mode leaves out the diagnostic cases (RedisStore with stale: 0, RedisStore with auto-pipelining); `npm run bench` runs them.')
  for (const kind of kinds) {
    const r = results.get(kind) as CaseResult
    if (r.error) notes.push(`${r.label}: not measured: ${r.error}`)
  }
  return {
    tables: [
      {
        title: 'Hit throughput',
        head: ['case', 'req/s (best)', 'req/s per round', '% of ceiling', 'p50', 'p99', 'server CPU / req', 'redis CPU / req', 'check'],
        rows,
      },
      {
        title: 'Ratios',
        head: ['comparison', 'req/s ratio (targets use this)', 'server CPU per request, inverted'],
        rows: comparisons.filter(([, a, b]) => results.has(a) && results.has(b)).map(([label, a, b]) => [label, fmtRatio(ratio(a, b)), fmtRatio(cpuRatio(a, b))]),
      },
    ],
    notes,
    targets,
    charts: [
      {
        title: 'Hit throughput (req/s, higher is better)',
        unit: 'req/s',
        bars: measured.map((kind) => ({ label: HIT_CASE_LABELS[kind], value: round(rps(results, kind), 0), highlight: kind.startsWith('cache-') })),
      },
      {
        title: 'Hit latency p99 under load (ms, lower is better)',
        unit: 'ms',
        bars: measured.map((kind) => ({ label: HIT_CASE_LABELS[kind], value: results.get(kind)?.best?.latency.p99 ?? 0, highlight: kind.startsWith('cache-') })),
      },
    ],
    data: Object.fromEntries(
      [...results].map(([kind, r]) => [kind, { label: r.label, error: r.error, computations: r.computations, failures: r.failures, rounds: r.rounds, best: r.best }]),
    ),
  }
}

export const hitThroughput: Scenario = {
  id: 'A',
  title: 'Hit throughput against the ceiling and the peers',
  run: runHitThroughput,
}
