/**
 * The energy service under a steady, paced load while a fault is applied to its real Redis
 * (issue 10's fault matrix): every answer is checked (status, shape, liveness), then the test
 * waits for the cache to return to normal by itself.
 */
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { createLogger } from '../../src/energy/server.js'
import { request, serveInProcess, shapeProblems, SHAPES, sleep, waitFor, type Running } from '../energy/support.js'
import type { RedisServer } from '../support/redis.js'

/** Liveness, not speed: an answer that takes this long has stalled. */
export const STALLED_MS = 5000
const PATHS = ['/energy/gradient', '/energy/monitor'] as const
/** 25 requests a second over two endpoints: steady, and light enough for a shared machine. */
const INTERVAL_MS = 40

export interface LoggedService extends Running {
  logs: Array<Record<string, unknown>>
  events(name: string): Array<Record<string, unknown>>
}

/** The service in process on `server`, its JSON log lines kept. */
export async function serviceOn(t: Test, server: RedisServer): Promise<LoggedService> {
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  const logger = createLogger('info', sink)
  // Without the in-process tier: every request reaches Redis, so each fault meets the store path
  // (with it on, most answers never touch Redis and a fault would go unseen).
  const running = await serveInProcess(t, { REDIS_URL: server.url, ENERGY_AGENTS: '48', CACHE_L1_MB: '0' }, { logger })
  return { ...running, logs, events: (name) => logs.filter((l) => l.event === name) }
}

export interface LoadResult {
  requests: number
  failed: string[]
  slowestMs: number
  cache: Record<string, number>
}

/** Paced requests (not one after the other: a slow answer does not slow the load) for `ms`. */
export async function pacedLoad(base: string, ms: number): Promise<LoadResult> {
  const pending: Array<Promise<{ problem?: string; ms: number; cache: string }>> = []
  const end = Date.now() + ms
  for (let i = 0; Date.now() < end; i++) {
    const path = PATHS[i % PATHS.length]!
    const shape = path === '/energy/gradient' ? SHAPES.gradient : SHAPES.monitor
    pending.push(
      request(base, path).then(
        (answer) => {
          const problems = answer.status === 200 ? shapeProblems(answer.json, shape) : [`status ${answer.status}`]
          const cache = answer.headers.get('x-cache') ?? 'none'
          return { ms: answer.ms, cache, ...(problems.length > 0 && { problem: `${path}: ${problems.slice(0, 3).join('; ')}` }) }
        },
        (error: unknown) => ({ ms: 0, cache: 'none', problem: `${path}: ${(error as Error).message}` }),
      ),
    )
    await sleep(INTERVAL_MS)
  }
  const results = await Promise.all(pending)
  const cache: Record<string, number> = {}
  for (const r of results) cache[r.cache] = (cache[r.cache] ?? 0) + 1
  return {
    requests: results.length,
    failed: results.flatMap((r) => (r.problem ? [r.problem] : [])),
    slowestMs: Math.round(Math.max(...results.map((r) => r.ms))),
    cache,
  }
}

export interface Fault {
  inject(): Promise<void>
  /** Undoes the fault, when it does not undo itself. */
  heal?(): Promise<void>
  /** How long the fault lasts before heal(), in ms. */
  holdMs?: number
}

/**
 * ~3 s of load: 0.5 s before the fault, the fault for holdMs, the rest after. Checks every
 * answer, then waits (bounded) for /health to say ok on a closed circuit; returns the load's numbers.
 */
export async function faultUnderLoad(t: Test, service: LoggedService, fault: Fault, loadMs = 3000): Promise<LoadResult> {
  const load = pacedLoad(service.base, loadMs)
  await sleep(500)
  await fault.inject()
  await sleep(fault.holdMs ?? 1000)
  await fault.heal?.()
  const result = await load
  t.same(result.failed, [], `${result.requests} requests: every one 200 with a well-formed answer`)
  t.ok(result.slowestMs < STALLED_MS, `no request stalled (slowest ${result.slowestMs} ms)`)
  await waitFor(
    'the cache to be back on Redis with health ok',
    async () => {
      const health = await request(service.base, '/health')
      return health.json?.status === 'ok' && health.json?.circuit === 'closed'
    },
    20_000,
  )
  t.pass('health ok, circuit closed: back to normal by itself')
  t.comment(`load: ${JSON.stringify(result)}`)
  return result
}
