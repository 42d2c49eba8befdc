/** `show <key>`: one entry decoded, or with --body its whole body. */
import { Buffer } from 'node:buffer'
import { decodeEntry, type CachedEntry } from '../../cache/entry.js'
import { CliError, type CommandContext } from '../context.js'
import { bytes, count, duration, fields, isoTime } from '../format.js'
import { bucketSpan, routeOfKey, timesToLive } from '../walk.js'

/** How much of the body is shown without --body. */
const PREVIEW_BYTES = 512

export interface ShowOptions {
  body: boolean
}

export async function showCommand(ctx: CommandContext, key: string, options: ShowOptions): Promise<void> {
  const store = await ctx.store()
  const [value, [ttl]] = await Promise.all([store.get<unknown>(key), timesToLive(store, [key])])
  if (value === undefined) throw new CliError(`no key ${JSON.stringify(key)}`)
  const entry = decodeEntry(value)
  if (entry === undefined) throw new CliError(`${key} holds a value that is not a cache entry of this version`)
  // Raw bytes to a pipe, so `show KEY --body > body.json` writes the body and nothing else.
  if (options.body && !ctx.json && ctx.io.stdout.isTTY !== true) {
    ctx.io.stdout.write(entry.body)
    return
  }
  const now = Date.now()
  const shown = options.body ? entry.body : entry.body.subarray(0, PREVIEW_BYTES)
  ctx.print(entryJson(ctx.namespace, key, entry, ttl, now, shown), () => entryText(key, entry, ttl ?? null, now, shown))
}

function entryJson(namespace: string, key: string, entry: CachedEntry, ttl: number | null | undefined, now: number, shown: Buffer): object {
  const span = bucketSpan(entry)
  const text = utf8(shown)
  return {
    key,
    route: routeOfKey(namespace, key) ?? null,
    status: entry.status,
    headers: Object.fromEntries(entry.headers),
    bucket: entry.bucket,
    bucketStart: span ? isoTime(span.start) : null,
    bucketEnd: span ? isoTime(span.end) : null,
    windowMs: span?.windowMs ?? null,
    created: isoTime(entry.created),
    ageMs: now - entry.created,
    ttlMs: ttl ?? null,
    bodyBytes: entry.body.length,
    bodyEncoding: text === undefined ? 'base64' : 'utf8',
    body: text ?? shown.toString('base64'),
    bodyTruncated: shown.length < entry.body.length,
  }
}

function entryText(key: string, entry: CachedEntry, ttl: number | null, now: number, shown: Buffer): string {
  const span = bucketSpan(entry)
  const bucket = span
    ? `${entry.bucket}  (${isoTime(span.start)} to ${isoTime(span.end)}, window ${duration(span.windowMs)})`
    : String(entry.bucket)
  const headers = entry.headers.length === 0 ? ['(none)'] : entry.headers.map(([name, value]) => `${name}: ${value}`)
  const head = fields([
    ['key', key],
    ['status', String(entry.status)],
    ['bucket', bucket],
    ['computed', `${isoTime(entry.created)} (${duration(now - entry.created)} ago)`],
    ['ttl', ttl === null ? 'none' : duration(ttl)],
    ['headers', headers.join('\n' + ' '.repeat(10))],
    ['body', `${count(entry.body.length)} bytes (${bytes(entry.body.length)})`],
  ])
  const text = utf8(shown) ?? `(binary: ${shown.toString('hex')})`
  const rest = entry.body.length - shown.length
  return `${head}\n${text}\n${rest > 0 ? `... ${count(rest)} more bytes: --body shows all\n` : ''}`
}

/** The bytes as text when they are UTF-8; a preview may end inside a character, whose bytes are dropped. */
function utf8(buf: Buffer): string | undefined {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  for (let cut = 0; cut <= Math.min(3, buf.length); cut++) {
    try {
      return decoder.decode(buf.subarray(0, buf.length - cut))
    } catch {
      // not UTF-8 up to here; try without the last byte
    }
  }
  return undefined
}
