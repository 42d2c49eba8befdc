/**
 * B. Stampede: 200 concurrent requests for one cold key while its handler takes 300 ms; the
 * cache should run the handler once and answer all 200 with that one result. On MemoryStore and
 * on RedisStore in one process, then (reported, not a target) two processes sharing one Redis.
 */
import http from 'node:http'
import { get } from '../lib/load.js'
import { sharedRedis } from '../lib/redis.js'
import { ServerProcess } from '../lib/server-process.js'
import { fmtMs, summarize } from '../lib/stats.js'
import { evaluate, stampedeTarget } from '../lib/targets.js'
import type { BenchOptions, Scenario, ScenarioOutcome, TargetResult } from '../lib/types.js'

const REQUESTS = 200
const HANDLER_MS = 300

interface StampedeResult {
  label: string
  processes: number
  requests: number
  ok: number
  sameBody: boolean
  computations: number
  xcache: Record<string, number>
  latency: { p50: number; p99: number; max: number }
}

async function burst(urls: string[]): Promise<{ ok: number; sameBody: boolean; xcache: Record<string, number>; ms: number[] }> {
  // A fresh connection per request (no keep-alive pool to queue behind): 200 requests in flight.
  const agent = new http.Agent({ keepAlive: false, maxSockets: REQUESTS * 2 })
  try {
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) => get(`${urls[i % urls.length]}/slow`, {}, 30_000, agent)),
    )
    const first = answers[0]?.body
    const xcache: Record<string, number> = {}
    for (const a of answers) {
      const x = String(a.headers['x-cache'] ?? 'none')
      xcache[x] = (xcache[x] ?? 0) + 1
    }
    return {
      ok: answers.filter((a) => a.status === 200).length,
      sameBody: first !== undefined && answers.every((a) => a.body.equals(first)),
      xcache,
      ms: answers.map((a) => a.ms),
    }
  } finally {
    agent.destroy()
  }
}

async function runCase(label: string, env: Record<string, string>, processes: number): Promise<StampedeResult> {
  const prefix = `bench-b-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
  const servers: ServerProcess[] = []
  try {
    for (let i = 0; i < processes; i++) {
      servers.push(await ServerProcess.start('cache-server.ts', { ...env, BENCH_PREFIX: prefix, HANDLER_MS: String(HANDLER_MS) }))
    }
    // Wake each server's route machinery on another route, so the burst is the first /slow request.
    for (const server of servers) await get(`${server.url}/hit`)
    const result = await burst(servers.map((s) => s.url))
    let computations = 0
    for (const server of servers) computations += (await server.call<{ computations: number }>('stats')).computations
    const latency = summarize(result.ms)
    return { label, processes, requests: REQUESTS, ok: result.ok, sameBody: result.sameBody, computations, xcache: result.xcache, latency }
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function runStampede(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome> {
  const redis = await sharedRedis()
  const cases: StampedeResult[] = []
  const specs: Array<[string, Record<string, string>, number]> = [
    ['MemoryStore, 1 process', { STORE: 'memory' }, 1],
    ['RedisStore, 1 process', { STORE: 'redis', REDIS_URL: redis.url }, 1],
    ['RedisStore, 2 processes sharing Redis (100 requests each)', { STORE: 'redis', REDIS_URL: redis.url }, 2],
  ]
  for (const [label, env, processes] of specs) {
    const result = await runCase(label, env, processes)
    progress(`  ${label}: ${result.computations} computation(s) for ${result.requests} requests, ${result.ok} answered 200`)
    cases.push(result)
  }
  const [memory, redisOne, redisTwo] = cases as [StampedeResult, StampedeResult, StampedeResult]
  // A computation count only counts when every request got the same 200 answer.
  const counted = (r: StampedeResult): number => (r.ok === r.requests && r.sameBody ? r.computations : Number.NaN)
  const targets: TargetResult[] = [
    evaluate(stampedeTarget('B1', `handler runs for ${REQUESTS} concurrent cold requests, MemoryStore`), counted(memory), options.quick),
    evaluate(stampedeTarget('B2', `handler runs for ${REQUESTS} concurrent cold requests, RedisStore`), counted(redisOne), options.quick),
  ]
  return {
    tables: [
      {
        title: `${REQUESTS} concurrent cold requests on one key, handler ${HANDLER_MS} ms`,
        head: ['case', 'computations', 'answered 200', 'same body', 'X-Cache', 'p50', 'p99', 'max'],
        rows: cases.map((r) => [
          r.label,
          String(r.computations),
          `${r.ok}/${r.requests}`,
          r.sameBody ? 'yes' : 'NO',
          Object.entries(r.xcache).map(([k, v]) => `${k} ${v}`).join(', '),
          fmtMs(r.latency.p50),
          fmtMs(r.latency.p99),
          fmtMs(r.latency.max),
        ]),
      },
    ],
    notes: [
      'Each request uses its own connection, so all of them are in flight before the first computation ends.',
      `Two processes sharing one Redis: reported, not a target. Each process coalesces its own requests, so the expected count is 1 with a cross-process lock and up to 2 without one; measured: ${redisTwo.computations}.`,
    ],
    targets,
    charts: [],
    data: cases,
  }
}

export const stampede: Scenario = { id: 'B', title: 'Stampede: concurrent cold requests on one key', run: runStampede }
