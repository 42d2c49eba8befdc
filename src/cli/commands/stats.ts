/**
 * `stats`: keys and bytes per route and bucket. Bytes are Redis's own MEMORY USAGE: every key
 * when the database is small, else every n-th key, the rest estimated from their value size.
 */
import type { RedisStore } from '../../../adapters/redis.js'
import type { CommandContext } from '../context.js'
import { bytes, count, duration, progress, table } from '../format.js'
import { serviceHealth } from '../service.js'
import { memoryUsage, walk, type Walked } from '../walk.js'

export interface StatsOptions {
  url?: string
  timeout: number
  /** About how many keys get a MEMORY USAGE call. */
  sample: number
}

export interface BucketStats {
  bucket: number | null
  keys: number
  bytes: number
  oldestCreated: number | null
  newestCreated: number | null
}

interface Tally extends BucketStats {
  measured: number
  measuredBytes: number
  measuredValueBytes: number
  unmeasuredValueBytes: number
}

const BATCH = 200

export async function statsCommand(ctx: CommandContext, options: StatsOptions): Promise<void> {
  const service = options.url === undefined ? undefined : (await serviceHealth(options.url, options.timeout)).body
  const store = await ctx.store()
  const prefix = `${ctx.namespace}:`
  const total = (await store.info()).keys
  // DBSIZE counts other namespaces too: measuring every n-th key of it stays within the budget.
  const every = Math.max(1, Math.ceil(total / options.sample))
  const tallies = await tally(ctx, store, prefix, every, total)
  const routes = summarise(tallies)
  const keys = routes.reduce((sum, r) => sum + r.keys, 0)
  const report = {
    namespace: ctx.namespace,
    keys,
    bytes: routes.reduce((sum, r) => sum + r.bytes, 0),
    memoryUsage: { every, exact: every === 1 },
    routes,
    service: service === undefined ? null : pick(service, ['hit_rate', 'hits', 'misses', 'stale', 'computations', 'store_errors']),
  }
  ctx.print(report, () => statsText(report))
}

/** One pass over the namespace: per route and bucket, keys and bytes. */
async function tally(ctx: CommandContext, store: RedisStore, prefix: string, every: number, total: number): Promise<Map<string, Map<number | null, Tally>>> {
  const byRoute = new Map<string, Map<number | null, Tally>>()
  const bar = progress(ctx.io.stdout, 'scanning', total, ctx.json)
  let seen = 0
  let batch: Array<{ walked: Walked; measure: boolean }> = []
  const flush = async (): Promise<void> => {
    const measured = batch.filter((b) => b.measure)
    const used = await memoryUsage(store, measured.map((b) => b.walked.key))
    const usedByKey = new Map(measured.map((b, i) => [b.walked.key, used[i]]))
    for (const { walked } of batch) add(byRoute, walked, usedByKey.get(walked.key))
    bar.tick(batch.length)
    batch = []
  }
  for await (const walked of walk(store, ctx.namespace, prefix)) {
    batch.push({ walked, measure: seen++ % every === 0 })
    if (batch.length >= BATCH) await flush()
  }
  await flush()
  bar.stop()
  // The measured keys say what Redis spends on a key beyond its value; the others get that much.
  const overhead = overheadPerKey(byRoute)
  for (const buckets of byRoute.values()) {
    for (const t of buckets.values()) {
      t.bytes = Math.round(t.measuredBytes + t.unmeasuredValueBytes + (t.keys - t.measured) * overhead)
    }
  }
  return byRoute
}

function add(byRoute: Map<string, Map<number | null, Tally>>, walked: Walked, used: number | undefined): void {
  const route = walked.route ?? '(other)'
  const bucket = walked.entry?.bucket ?? null
  let buckets = byRoute.get(route)
  if (!buckets) byRoute.set(route, (buckets = new Map()))
  let t = buckets.get(bucket)
  if (!t) {
    t = { bucket, keys: 0, bytes: 0, oldestCreated: null, newestCreated: null, measured: 0, measuredBytes: 0, measuredValueBytes: 0, unmeasuredValueBytes: 0 }
    buckets.set(bucket, t)
  }
  t.keys++
  if (used === undefined) t.unmeasuredValueBytes += walked.valueBytes
  else {
    t.measured++
    t.measuredBytes += used
    t.measuredValueBytes += walked.valueBytes
  }
  const created = walked.entry?.created
  if (created !== undefined) {
    t.oldestCreated = Math.min(t.oldestCreated ?? created, created)
    t.newestCreated = Math.max(t.newestCreated ?? created, created)
  }
}

function overheadPerKey(byRoute: Map<string, Map<number | null, Tally>>): number {
  let measured = 0
  let spent = 0
  for (const buckets of byRoute.values()) {
    for (const t of buckets.values()) {
      measured += t.measured
      spent += t.measuredBytes - t.measuredValueBytes
    }
  }
  return measured === 0 ? 0 : spent / measured
}

export interface RouteStats {
  route: string
  keys: number
  bytes: number
  oldestBucket: number | null
  newestBucket: number | null
  buckets: BucketStats[]
}

function summarise(byRoute: Map<string, Map<number | null, Tally>>): RouteStats[] {
  return [...byRoute]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([route, tallies]) => {
      const buckets = [...tallies.values()]
        .map(({ bucket, keys, bytes, oldestCreated, newestCreated }) => ({ bucket, keys, bytes, oldestCreated, newestCreated }))
        .sort((a, b) => (b.bucket ?? -Infinity) - (a.bucket ?? -Infinity))
      const numbered = buckets.flatMap((b) => (b.bucket === null ? [] : [b.bucket]))
      return {
        route,
        keys: buckets.reduce((sum, b) => sum + b.keys, 0),
        bytes: buckets.reduce((sum, b) => sum + b.bytes, 0),
        oldestBucket: numbered.length === 0 ? null : Math.min(...numbered),
        newestBucket: numbered.length === 0 ? null : Math.max(...numbered),
        buckets,
      }
    })
}

function pick(source: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((name) => name in source).map((name) => [name, source[name]]))
}

function statsText(report: { namespace: string; keys: number; bytes: number; memoryUsage: { every: number }; routes: RouteStats[]; service: Record<string, unknown> | null }): string {
  if (report.routes.length === 0) return `no keys under ${report.namespace}:\n`
  const now = Date.now()
  const routes = table(
    ['route', 'keys', 'bytes', 'buckets', 'oldest', 'newest'],
    report.routes.map((r) => [r.route, count(r.keys), bytes(r.bytes), r.buckets.length, r.oldestBucket ?? '-', r.newestBucket ?? '-']),
    ['left', 'right', 'right', 'right', 'right', 'right'],
  )
  const buckets = table(
    ['route', 'bucket', 'keys', 'bytes', 'computed'],
    report.routes.flatMap((r) =>
      r.buckets.map((b) => [r.route, b.bucket ?? '(not an entry)', count(b.keys), bytes(b.bytes), b.newestCreated === null ? '-' : `${duration(now - b.newestCreated)} ago`]),
    ),
    ['left', 'right', 'right', 'right', 'right'],
  )
  const how = report.memoryUsage.every === 1 ? 'MEMORY USAGE of every key' : `MEMORY USAGE of 1 key in ${report.memoryUsage.every}, the rest estimated`
  const total = `total: ${count(report.keys)} keys, ${bytes(report.bytes)} (${how})\n`
  return `${routes}\n${buckets}\n${total}${report.service ? serviceText(report.service) : ''}`
}

function serviceText(service: Record<string, unknown>): string {
  const rate = typeof service.hit_rate === 'number' ? `${(100 * service.hit_rate).toFixed(1)}%` : '-'
  return `service: hit rate ${rate}, ${String(service.hits)} hits, ${String(service.misses)} misses, ${String(service.stale)} stale, ${String(service.computations)} computations\n`
}
