/** `keys [route]`: the cache's keys by SCAN (never KEYS), with what each holds. */
import type { CommandContext } from '../context.js'
import { bytes, count, duration, progress, table } from '../format.js'
import { scanPrefix, timesToLive, walk, type Walked } from '../walk.js'

export interface KeysOptions {
  limit: number
}

export interface KeyRow {
  key: string
  route: string | null
  bucket: number | null
  status: number | null
  bytes: number
  ttlMs: number | null
}

export async function keysCommand(ctx: CommandContext, route: string | undefined, options: KeysOptions): Promise<void> {
  const store = await ctx.store()
  const prefix = scanPrefix(store, ctx.namespace, route)
  const found: Walked[] = []
  let truncated = false
  const bar = progress(ctx.io.stdout, 'scanning', options.limit, ctx.json)
  for await (const walked of walk(store, ctx.namespace, prefix)) {
    if (found.length === options.limit) {
      truncated = true
      break
    }
    found.push(walked)
    bar.tick()
  }
  bar.stop()
  const ttls = await timesToLive(store, found.map((w) => w.key))
  const rows: KeyRow[] = found.map((w, i) => ({
    key: w.key,
    route: w.route ?? null,
    bucket: w.entry?.bucket ?? null,
    status: w.entry?.status ?? null,
    bytes: w.valueBytes,
    ttlMs: ttls[i] ?? null,
  }))
  rows.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  ctx.print({ namespace: ctx.namespace, route: route ?? null, prefix, keys: rows, truncated }, () => keysText(rows, truncated, prefix))
}

function keysText(rows: KeyRow[], truncated: boolean, prefix: string): string {
  if (rows.length === 0) return `no keys under ${prefix}\n`
  const body = table(
    ['key', 'bucket', 'status', 'bytes', 'ttl'],
    rows.map((r) => [r.key, r.bucket ?? '-', r.status ?? '(not an entry)', bytes(r.bytes), r.ttlMs === null ? 'none' : duration(r.ttlMs)]),
    ['left', 'right', 'right', 'right', 'right'],
  )
  const tail = truncated ? `first ${count(rows.length)} keys shown; raise --limit for more\n` : `${count(rows.length)} keys\n`
  return body + tail
}
