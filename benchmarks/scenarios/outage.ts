/**
 * D. Outage: steady load on a cached route while its Redis is hung (SIGSTOP) and later killed
 * (SIGKILL), each time restored; a failed request is any answer other than 200 or a transport
 * error. The server reports every circuit change ('circuit' event), which gives the time from
 * Redis being back to the cache using it again.
 */
import { get, paced, type Timeline, type TimelinePoint } from '../lib/load.js'
import { ownRedis } from '../lib/redis.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtInt, fmtMs, round, summarize } from '../lib/stats.js'
import { evaluate, OUTAGE_TARGET } from '../lib/targets.js'
import { SkipScenario, type BenchOptions, type Scenario, type ScenarioOutcome } from '../lib/types.js'

const HANDLER_MS = 20
const CONNECTIONS = 50

interface Phase {
  name: string
  from: number
  to: number
}

function schedule(quick: boolean): { rate: number; seconds: number; pauseAt: number; resumeAt: number; killAt: number; restartAt: number } {
  return quick
    ? { rate: 400, seconds: 18, pauseAt: 3, resumeAt: 6, killAt: 9, restartAt: 12 }
    : { rate: 800, seconds: 32, pauseAt: 5, resumeAt: 11, killAt: 16, restartAt: 22 }
}

function inPhase(points: TimelinePoint[], phase: Phase): TimelinePoint[] {
  return points.filter((p) => p.at >= phase.from && p.at < phase.to)
}

async function runOutage(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  if (process.env.TEST_REDIS_URL) {
    throw new SkipScenario('TEST_REDIS_URL names a Redis the suite cannot pause or kill: unset it to let the suite start its own redis-server')
  }
  const plan = schedule(options.quick)
  const redis = await ownRedis()
  const server = await ServerProcess.start('cache-server.ts', {
    STORE: 'redis',
    REDIS_URL: redis.url,
    BENCH_PREFIX: `bench-d-${Date.now().toString(36)}`,
    HANDLER_MS,
  })
  const marks: Record<string, number> = {}
  let run: Timeline
  try {
    const fill = await get(`${server.url}/slow`)
    if (fill.status !== 200) throw new Error(`GET /slow answered ${fill.status}`)
    const steps: Array<[number, string, () => Promise<void>]> = [
      [plan.pauseAt, 'pause', () => redis.pause()],
      [plan.resumeAt, 'resume', () => redis.resume()],
      [plan.killAt, 'kill', () => redis.kill()],
      [plan.restartAt, 'restart', () => redis.restart()],
    ]
    run = await paced(
      server.url,
      { connections: CONNECTIONS, duration: plan.seconds, path: '/slow', rate: plan.rate },
      async (elapsed) => {
        const step = steps[0]
        if (!step || elapsed < step[0] * 1000) return
        steps.shift()
        marks[step[1]] = elapsed
        progress(`  ${round(elapsed / 1000, 1)} s: Redis ${step[1]}`)
        const called = performance.now()
        await step[2]()
        marks[`${step[1]}Done`] = elapsed + (performance.now() - called)
      },
    )
  } finally {
    await server.stop()
    await redis.stop()
  }
  return analyse(run, server, marks, plan, options)
}

function analyse(
  run: Timeline,
  server: ServerProcess,
  marks: Record<string, number>,
  plan: ReturnType<typeof schedule>,
  options: BenchOptions,
): ScenarioOutcome {
  const end = plan.seconds * 1000
  const at = (name: string, fallback: number): number => marks[name] ?? fallback
  const phases: Phase[] = [
    { name: 'before (Redis up)', from: 0, to: at('pause', plan.pauseAt * 1000) },
    { name: 'Redis hung (SIGSTOP)', from: at('pause', plan.pauseAt * 1000), to: at('resume', plan.resumeAt * 1000) },
    { name: 'after SIGCONT', from: at('resume', plan.resumeAt * 1000), to: at('kill', plan.killAt * 1000) },
    { name: 'Redis gone (SIGKILL, until the restarted server answers)', from: at('kill', plan.killAt * 1000), to: at('restartDone', plan.restartAt * 1000) },
    { name: 'after restart (empty Redis)', from: at('restartDone', plan.restartAt * 1000), to: end + 1000 },
  ]
  // Child event times are the child's Date.now(); the run started at run.started on the same clock.
  const circuit = server.events.filter((e) => e.name === 'circuit').map((e) => ({ state: String(e.data), at: e.at - run.started }))
  const backAfter = (from: number, to: number): number => {
    const closed = circuit.find((e) => e.state === 'closed' && e.at >= from && e.at < to)
    return closed ? (closed.at - from) / 1000 : Number.NaN
  }
  const openedIn = (phase: Phase): number => {
    const opened = circuit.find((e) => e.state === 'open' && e.at >= phase.from && e.at < phase.to)
    return opened ? (opened.at - phase.from) / 1000 : Number.NaN
  }
  const failed = run.points.filter((p) => p.status !== 200).length
  const rows = phases.map((phase) => {
    const points = inPhase(run.points, phase)
    const ok = points.filter((p) => p.status === 200)
    const latency = summarize(ok.map((p) => p.ms))
    return [phase.name, `${round(phase.from / 1000, 1)}-${round(Math.min(phase.to, end) / 1000, 1)} s`, fmtInt(points.length), String(points.length - ok.length), fmtMs(latency.p50), fmtMs(latency.p99), fmtMs(latency.max)]
  })
  const hung = phases[1] as Phase
  const gone = phases[3] as Phase
  // Counted from the moment Redis answers again: SIGCONT sent, or the restarted server answering.
  const backFromHang = backAfter(at('resumeDone', hung.to), gone.from)
  const backFromKill = backAfter(at('restartDone', gone.to), end + 1000)
  const hungP99 = summarize(inPhase(run.points, hung).filter((p) => p.status === 200).map((p) => p.ms)).p99
  const goneP99 = summarize(inPhase(run.points, gone).filter((p) => p.status === 200).map((p) => p.ms)).p99
  return {
    tables: [
      { title: `Steady ${plan.rate} req/s on a cached route (handler ${HANDLER_MS} ms), ${CONNECTIONS} connections`, head: ['phase', 'window', 'answers', 'failed', 'p50', 'p99', 'max'], rows },
      {
        title: 'Circuit',
        head: ['event', 'seconds'],
        rows: [
          ['circuit opened after SIGSTOP', fmtSeconds(openedIn(hung))],
          ['back on Redis after SIGCONT (circuit closed)', fmtSeconds(backFromHang)],
          ['circuit opened after SIGKILL', fmtSeconds(openedIn(gone))],
          ['back on Redis after the restarted server answers (circuit closed)', fmtSeconds(backFromKill)],
          ['restart took (new redis-server answering)', fmtSeconds((at('restartDone', Number.NaN) - at('restart', Number.NaN)) / 1000)],
        ],
      },
    ],
    notes: [
      `Failed requests over the whole run: ${failed} (${run.errors} transport errors of which ${run.timeouts} timeouts, ${run.non2xx} answers other than 2xx).`,
      `Load: ${plan.rate} requests per second evenly spaced over ${CONNECTIONS} keep-alive connections; latency counts from when a request was due, so a stall is charged to every request that would have arrived during it.`,
      'While the circuit is open the cache answers from its in-memory fallback, which starts empty: the first request per key computes once, then hits.',
      'The cache defaults are used: 150 ms per store operation, 3 failures open the circuit, a probe every 1 s.',
      `Circuit events seen: ${circuit.map((e) => `${e.state}@${round(e.at / 1000, 2)}s`).join(', ') || 'none'}.`,
    ],
    targets: [
      evaluate(OUTAGE_TARGET, failed, options.quick),
    ],
    charts: [],
    data: { plan, marks, phases, circuit, failed, hungP99, goneP99, backFromHang, backFromKill },
  }
}

function fmtSeconds(seconds: number): string {
  return Number.isFinite(seconds) ? `${round(seconds, 2)} s` : 'not seen'
}

export const outage: Scenario = { id: 'D', title: 'Outage: Redis hung and killed under load', run: runOutage }
