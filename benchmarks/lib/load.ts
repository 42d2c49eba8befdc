/**
 * Load generation, all on loopback: autocannon for throughput, a paced keep-alive client for
 * steady load with a per-request timeline, and sub-millisecond latency samples.
 */
import http from 'node:http'
import autocannon from 'autocannon'
import { summarize, type LatencySummary } from './stats.js'

export interface ThroughputResult {
  /** 2xx answers per second over the whole run. */
  rps: number
  ok: number
  durationS: number
  latency: { p50: number; p99: number; mean: number; max: number }
  errors: number
  non2xx: number
}

export interface LoadOptions {
  connections: number
  /** Seconds. */
  duration: number
  path?: string
  requests?: autocannon.Request[]
  overallRate?: number
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') throw new Error(`load only targets loopback, not ${host}`)
}

function options(url: string, load: LoadOptions): autocannon.Options {
  assertLoopback(url)
  return {
    url: `${url}${load.path ?? ''}`,
    connections: load.connections,
    duration: load.duration,
    timeout: 10,
    ...(load.requests ? { requests: load.requests } : {}),
    ...(load.overallRate ? { overallRate: load.overallRate } : {}),
  }
}

export async function throughput(url: string, load: LoadOptions): Promise<ThroughputResult> {
  const result = await autocannon(options(url, load))
  const ok = result['2xx']
  return {
    rps: ok / result.duration,
    ok,
    durationS: result.duration,
    latency: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.mean, max: result.latency.max },
    errors: result.errors,
    non2xx: result.non2xx,
  }
}

export interface TimelinePoint {
  /** ms since the run started, when the answer (or error) arrived. */
  at: number
  /** ms from when the request was due to its answer (or error). */
  ms: number
  status: number
}

export interface Timeline {
  points: TimelinePoint[]
  started: number // Date.now() at start
  errors: number
  timeouts: number
  non2xx: number
}

export interface PacedOptions {
  /** Requests per second over all connections, evenly spaced. */
  rate: number
  connections: number
  /** Seconds. */
  duration: number
  path?: string
  headers?: Record<string, string>
}

/**
 * Steady load: each connection sends on its own fixed schedule (`connections / rate` apart,
 * connections offset from one another), so requests arrive evenly over every second. autocannon's
 * rate limit sends each second's quota in a burst at the start of the second instead, which would
 * leave most of every second without traffic (no request near a bucket's end, for one). A request
 * whose turn comes while the previous one is still out goes as soon as that one is answered, and
 * its latency counts from when it was due, not from when it went: a stalled server is charged for
 * every request that would have arrived meanwhile (no coordinated omission).
 */
export async function paced(url: string, load: PacedOptions, during?: (elapsedMs: number) => Promise<void> | void): Promise<Timeline> {
  assertLoopback(url)
  const points: TimelinePoint[] = []
  const own = new http.Agent({ keepAlive: true, maxSockets: load.connections })
  const interval = (1000 * load.connections) / load.rate
  const t0 = performance.now()
  const started = Date.now()
  const end = t0 + load.duration * 1000
  let busy = false
  const poll = setInterval(() => {
    if (!during || busy) return
    busy = true
    Promise.resolve(during(performance.now() - t0))
      .catch((error: unknown) => process.stderr.write(`  paced action failed: ${String(error)}\n`))
      .finally(() => {
        busy = false
      })
  }, 50)
  let errors = 0
  let timeouts = 0
  let non2xx = 0
  const target = `${url}${load.path ?? ''}`
  async function connection(k: number): Promise<void> {
    let next = t0 + (k * interval) / load.connections
    while (next < end) {
      const wait = next - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const due = next
      try {
        const answer = await get(target, load.headers ?? {}, 10_000, own)
        const now = performance.now()
        points.push({ at: now - t0, ms: now - due, status: answer.status })
        if (answer.status < 200 || answer.status > 299) non2xx++
      } catch (error) {
        errors++
        if (/timed out/.test(String(error))) timeouts++
        points.push({ at: performance.now() - t0, ms: performance.now() - due, status: 0 })
      }
      next += interval
    }
  }
  try {
    await Promise.all(Array.from({ length: load.connections }, (_, k) => connection(k)))
  } finally {
    clearInterval(poll)
    own.destroy()
  }
  points.sort((a, b) => a.at - b.at)
  return { points, started, errors, timeouts, non2xx }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

export interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  ms: number
}

/** One GET on loopback with a keep-alive connection; `ms` is measured with hrtime. */
export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 120_000, useAgent: http.Agent | false = agent): Promise<Answer> {
  assertLoopback(url)
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const request = http.get(url, { agent: useAgent, headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), ms: performance.now() - start }),
      )
      response.on('error', reject)
    })
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)))
    request.on('error', reject)
  })
}

/**
 * `count` sequential GETs per worker, `concurrency` workers, each on its own keep-alive
 * connection; latencies measured by this process, not rounded to a millisecond.
 */
export async function sampleLatency(url: string, count: number, concurrency = 1, headers: Record<string, string> = {}): Promise<{ summary: LatencySummary; statuses: Map<number, number>; xcache: Map<string, number> }> {
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const xcache = new Map<string, number>()
  const own = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = 0; i < count; i++) {
          const answer = await get(url, headers, 120_000, own)
          latencies.push(answer.ms)
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1)
          const x = String(answer.headers['x-cache'] ?? 'none')
          xcache.set(x, (xcache.get(x) ?? 0) + 1)
        }
      }),
    )
  } finally {
    own.destroy()
  }
  return { summary: summarize(latencies), statuses, xcache }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
