/**
 * A. Hit throughput: one Koa app, one ~2 KB JSON payload, each case in its own server process,
 * loaded by autocannon from this process. A comparison is a pair of cases measured back to back
 * in every round (which goes first alternates), and its ratio is the median of the per-round
 * ratios: a shared host's slow drifts hit both cases of a round alike and cancel, better than in a
 * ratio of medians. Every round is in the report, since the spread is part of the result.
 */
import { get, throughput, type ThroughputResult } from '../lib/load.js'
import { HIT_CASE_LABELS, needsRedis, type HitCase } from '../lib/hit-cases.js'
import { PAYLOAD_BYTES } from '../lib/payload.js'
import { pinHelper, pinServer, placement, unpin } from '../lib/placement.js'
import { sharedRedis, type RedisServer } from '../lib/redis.js'
import { commandsBetween, redisCommandCalls, redisCpuMicros, redisPid } from '../lib/redis-cpu.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtInt, fmtMs, fmtRatio, median, round } from '../lib/stats.js'
import { evaluate, HIT_TARGETS, type TargetSpec } from '../lib/targets.js'
import type { BenchOptions, Scenario, ScenarioOutcome, TargetResult } from '../lib/types.js'

const CONNECTIONS = 50

interface Comparison {
  /** This cache's case, measured against `b`. */
  a: HitCase
  b: HitCase
  label: string
  target?: TargetSpec
  /** Measured in full mode only: a reference or a diagnostic, with no target. */
  fullOnly?: boolean
}

const COMPARISONS: Comparison[] = [
  { a: 'cache-memory', b: 'ceiling-headers', label: 'MemoryStore hit / ceiling with the same headers', target: HIT_TARGETS.A1 },
  { a: 'cache-memory', b: 'koa-cash-memory', label: 'MemoryStore hit / koa-cash on lru-cache', target: HIT_TARGETS.A1b },
  { a: 'cache-redis', b: 'redis-get', label: 'RedisStore hit / plain ioredis GET', target: HIT_TARGETS.A2 },
  { a: 'cache-redis', b: 'keyv-redis-object', label: 'RedisStore hit / Keyv + @keyv/redis (object value)', target: HIT_TARGETS.A3 },
  { a: 'cache-redis', b: 'keyv-redis', label: 'RedisStore hit / Keyv + @keyv/redis (ready string)', target: HIT_TARGETS.A3b },
  { a: 'cache-redis-l1', b: 'ceiling-headers', label: 'RedisStore with l1, hit / ceiling with the same headers', target: HIT_TARGETS.A4 },
  { a: 'cache-memory', b: 'ceiling', label: 'MemoryStore hit / bare ceiling (no headers)', fullOnly: true },
  { a: 'cache-redis', b: 'koa-cash-redis', label: 'RedisStore hit / koa-cash on Redis', fullOnly: true },
  { a: 'cache-redis', b: 'bento-redis', label: 'RedisStore hit / bentocache redis (L2)', fullOnly: true },
  { a: 'cache-memory', b: 'bento-memory', label: 'MemoryStore hit / bentocache memory (L1)', fullOnly: true },
  { a: 'cache-redis-single-get', b: 'cache-redis', label: 'RedisStore stale: 0 (GET) / default (MGET of 2 keys)', fullOnly: true },
  { a: 'cache-redis', b: 'cache-redis-unpipelined', label: 'RedisStore (auto-pipelined, its default) / on an ioredis without auto-pipelining', fullOnly: true },
  { a: 'node-redis-get', b: 'redis-get', label: 'one node-redis GET / one ioredis GET', fullOnly: true },
]

interface RoundResult extends ThroughputResult {
  /** Server process CPU per answered request, microseconds. */
  cpuUs: number
  /** redis-server CPU per answered request, microseconds (0 for in-memory cases). */
  redisUs: number
  /** Redis commands run during the run, by name (INFO commandstats; none for in-memory cases). */
  commands: Record<string, number>
}

interface CaseResult {
  kind: HitCase
  error?: string
  runs: RoundResult[]
  computations?: number
  storeErrors?: number
  circuit?: string
  l1Hits?: number
}

interface PairRound {
  a: RoundResult
  b: RoundResult
}

/** One measured run, with the CPU the server (and Redis) spent on it. */
async function measure(server: ServerProcess, redis: RedisServer | undefined, duration: number): Promise<RoundResult> {
  const cpu0 = await server.call<number>('cpu')
  const redis0 = redis ? await redisCpuMicros(redis) : 0
  const commands0 = redis ? await redisCommandCalls(redis) : undefined
  const measured = await throughput(server.url, { connections: CONNECTIONS, duration, path: '/payload' })
  const cpu1 = await server.call<number>('cpu')
  const commands = redis && commands0 ? commandsBetween(commands0, await redisCommandCalls(redis)) : {}
  const redis1 = redis ? await redisCpuMicros(redis) : 0
  const answered = Math.max(1, measured.ok)
  return { ...measured, cpuUs: (cpu1 - cpu0) / answered, redisUs: (redis1 - redis0) / answered, commands }
}

function plan(quick: boolean): { rounds: number; duration: number; warmup: number } {
  return quick ? { rounds: 3, duration: 2, warmup: 2 } : { rounds: 7, duration: 5, warmup: 3 }
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

async function startCases(kinds: HitCase[], redis: RedisServer, warmup: number, progress: (line: string) => void): Promise<{ servers: Map<HitCase, ServerProcess>; results: Map<HitCase, CaseResult> }> {
  const stamp = Date.now().toString(36)
  const servers = new Map<HitCase, ServerProcess>()
  const results = new Map<HitCase, CaseResult>()
  for (const kind of kinds) {
    const result: CaseResult = { kind, runs: [] }
    results.set(kind, result)
    try {
      const env = { BENCH_CASE: kind, BENCH_PREFIX: `bench-a-${stamp}-${kind}`, ...(needsRedis(kind) ? { REDIS_URL: redis.url } : {}) }
      const server = await ServerProcess.start('hit-server.ts', env)
      servers.set(kind, server)
      pinServer(server.pid)
      await verify(server, kind)
      await throughput(server.url, { connections: CONNECTIONS, duration: warmup, path: '/payload' })
    } catch (error) {
      result.error = firstLines(error)
      progress(`  ${kind}: cannot be measured: ${result.error}`)
      await servers.get(kind)?.stop()
      servers.delete(kind)
    }
  }
  return { servers, results }
}

async function runHitThroughput(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  const { rounds, duration, warmup } = plan(options.quick)
  const comparisons = COMPARISONS.filter((c) => !options.quick || !c.fullOnly)
  const redis = await sharedRedis()
  const redisProcess = await redisPid(redis)
  const where = placement()
  pinHelper(process.pid)
  pinHelper(redisProcess)
  progress(`  placement: ${where.description}`)
  const kinds = [...new Set(comparisons.flatMap((c) => [c.a, c.b]))]
  const { servers, results } = await startCases(kinds, redis, warmup, progress)
  const pairRounds = new Map<Comparison, PairRound[]>(comparisons.map((c) => [c, []]))
  try {
    for (let round = 0; round < rounds; round++) {
      for (const comparison of comparisons) {
        const sa = servers.get(comparison.a)
        const sb = servers.get(comparison.b)
        if (!sa || !sb) continue
        const order: Array<[HitCase, ServerProcess]> = round % 2 === 0 ? [[comparison.a, sa], [comparison.b, sb]] : [[comparison.b, sb], [comparison.a, sa]]
        const measured = new Map<HitCase, RoundResult>()
        for (const [kind, server] of order) {
          const run = await measure(server, needsRedis(kind) ? redis : undefined, duration)
          results.get(kind)?.runs.push(run)
          measured.set(kind, run)
        }
        const pair = { a: measured.get(comparison.a)!, b: measured.get(comparison.b)! }
        pairRounds.get(comparison)?.push(pair)
        progress(`  round ${round + 1}/${rounds} ${comparison.label}: ${fmtInt(pair.a.rps)} / ${fmtInt(pair.b.rps)} req/s = ${fmtRatio(pair.a.rps / pair.b.rps)}`)
      }
    }
    for (const [kind, server] of servers) {
      const stats = await server.call<{ computations: number; storeErrors: number; circuit: string; l1Hits?: number }>('stats')
      Object.assign(results.get(kind)!, stats)
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()))
    unpin(process.pid)
    unpin(redisProcess)
  }
  return report(results, pairRounds, options, { rounds, duration, placement: where.description })
}

/** The median of per-round ratios a/b, and of per-round server-CPU ratios b/a (a's cheapness). */
function pairRatios(runs: PairRound[]): { rps: number; cpu: number; each: number[] } {
  const each = runs.map((r) => r.a.rps / r.b.rps)
  return { rps: median(each), cpu: median(runs.map((r) => r.b.cpuUs / r.a.cpuUs)), each }
}

/** The message's first line, plus the first line of the server's output that names an error. */
function firstLines(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).split('\n')
  const cause = lines.slice(1).find((line) => /error/i.test(line))
  return cause ? `${lines[0]}: ${cause.trim()}` : (lines[0] ?? '')
}

/** Redis commands per answered request over every run of a case, and the commands by name. */
function commandsPerRequest(r: CaseResult): { perRequest: number; total: number; byName: Record<string, number> } {
  const byName: Record<string, number> = {}
  for (const run of r.runs) for (const [name, calls] of Object.entries(run.commands)) byName[name] = (byName[name] ?? 0) + calls
  const total = Object.values(byName).reduce((a, b) => a + b, 0)
  const answered = r.runs.reduce((n, run) => n + run.ok, 0)
  return { perRequest: answered > 0 ? total / answered : Number.NaN, total, byName }
}

function commandsCell(r: CaseResult): string {
  if (!needsRedis(r.kind)) return '-'
  const { perRequest, byName } = commandsPerRequest(r)
  const names = Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([name, calls]) => `${name} ${fmtInt(calls)}`)
  return `${round(perRequest, 3)}${names.length > 0 ? ` (${names.join(', ')})` : ''}`
}

function caseRow(r: CaseResult): string[] {
  const label = HIT_CASE_LABELS[r.kind]
  if (r.runs.length === 0) return [label, 'not measured', '', '', '', '', '', r.error ?? 'no result']
  const errors = r.storeErrors ? `, ${r.storeErrors} store errors (circuit ${r.circuit})` : ''
  const failed = r.runs.reduce((n, x) => n + x.errors + x.non2xx, 0)
  return [
    label,
    fmtInt(median(r.runs.map((x) => x.rps))),
    r.runs.map((x) => fmtInt(x.rps)).join(' / '),
    fmtMs(median(r.runs.map((x) => x.latency.p99))),
    `${round(median(r.runs.map((x) => x.cpuUs)), 1)} us`,
    needsRedis(r.kind) ? `${round(median(r.runs.map((x) => x.redisUs)), 1)} us` : '-',
    commandsCell(r),
    `${r.computations ?? '?'} computed, ${failed} failed${errors}${r.l1Hits !== undefined ? `, ${fmtInt(r.l1Hits)} L1 hits` : ''}`,
  ]
}

function report(results: Map<HitCase, CaseResult>, pairRounds: Map<Comparison, PairRound[]>, options: BenchOptions, run: { rounds: number; duration: number; placement: string }): ScenarioOutcome {
  const targets: TargetResult[] = []
  const ratioRows: string[][] = []
  const ratios = new Map<Comparison, number>()
  for (const [comparison, runs] of pairRounds) {
    const measured = runs.length > 0 ? pairRatios(runs) : undefined
    ratios.set(comparison, measured?.rps ?? Number.NaN)
    if (comparison.target) targets.push(evaluate(comparison.target, measured?.rps ?? Number.NaN, options.quick))
    ratioRows.push([
      comparison.target?.id ?? '',
      comparison.label,
      measured ? fmtRatio(measured.rps) : 'not measured',
      measured ? measured.each.map(fmtRatio).join(' / ') : '',
      measured ? fmtRatio(measured.cpu) : '',
    ])
  }
  const measuredKinds = [...results.values()].filter((r) => r.runs.length > 0)
  const l1 = results.get('cache-redis-l1')
  const l1Commands = l1 && l1.runs.length > 0 ? { ...commandsPerRequest(l1), hits: l1.runs.reduce((n, run) => n + run.ok, 0) } : undefined
  targets.push(evaluate(HIT_TARGETS.A4c, l1Commands?.perRequest ?? Number.NaN, options.quick))
  const notes = [
    `${CONNECTIONS} connections; ${run.rounds} rounds; in each round every comparison's two cases run back to back for ${run.duration} s each (the first of the two alternates by round). ` +
      'A ratio is the median of its per-round ratios. Every case runs in its own server process; autocannon runs in the runner process.',
    `Placement: ${run.placement}.`,
    'Every case answers the same 2,073-byte JSON body, checked byte for byte before the load; "computed" counts payload computations over the whole scenario (1 = every measured request was a hit).',
    '"server CPU / req" is the server process\'s user + system CPU time over a run divided by its answers (median over runs); "redis CPU / req" is redis-server\'s (INFO cpu). ' +
      'The CPU ratio column is the median per-round ratio of the other case\'s server CPU per request to this cache\'s: a second view of the cost of a hit.',
    '"Redis commands / req": commands redis-server ran during the case\'s measured runs (INFO commandstats before and after each run, less INFO, HELLO, CLIENT and PING, which no request sends), per answered request; the most frequent in brackets. ' +
      (l1Commands ? `RedisStore with l1: ${fmtInt(l1Commands.total)} commands over ${fmtInt(l1Commands.hits)} hits.` : 'RedisStore with l1: not measured.'),
  ]
  if (options.quick) notes.push('Quick mode measures the target comparisons only; `npm run bench` adds the references (bare ceiling, koa-cash on Redis, bentocache) and the diagnostics.')
  for (const r of results.values()) if (r.error) notes.push(`${HIT_CASE_LABELS[r.kind]}: not measured: ${r.error}`)
  return {
    tables: [
      {
        title: 'Ratios (targets use the median of per-round ratios)',
        head: ['target', 'comparison', 'req/s ratio', 'per round', 'server CPU per request, inverted'],
        rows: ratioRows,
      },
      {
        title: 'Every case',
        head: ['case', 'req/s (median)', 'req/s per run', 'p99 (median)', 'server CPU / req', 'redis CPU / req', 'Redis commands / req', 'check'],
        rows: measuredKinds.map(caseRow),
      },
    ],
    notes,
    targets,
    charts: [
      {
        title: 'Hit throughput (req/s, median of runs, higher is better)',
        unit: 'req/s',
        bars: measuredKinds.map((r) => ({ label: HIT_CASE_LABELS[r.kind], value: round(median(r.runs.map((x) => x.rps)), 0), highlight: r.kind.startsWith('cache-') })),
      },
    ],
    data: {
      placement: run.placement,
      ratios: Object.fromEntries([...ratios].map(([c, v]) => [c.target?.id ?? c.label, v])),
      l1CommandsPerHit: l1Commands ?? null,
      cases: Object.fromEntries([...results].map(([kind, r]) => [kind, r])),
    },
  }
}

export const hitThroughput: Scenario = {
  id: 'A',
  title: 'Hit throughput against the ceiling and the peers',
  run: runHitThroughput,
}
