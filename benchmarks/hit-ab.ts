/**
 * What a change to the hit path buys, measured in-process: the same Koa app (a router and a
 * cache.route, as servers/hit-server.ts builds it) from two source trees, and the same-header
 * ceiling, all in this process, driven through app.callback() over in-memory sockets. There is no
 * kernel and no load generator, so on a shared machine this is the least noisy view of what the
 * code costs. It reports CPU time per hit as the median of paired per-round ratios, with their spread.
 *
 *   git archive <before> | tar -x -C /tmp/before && ln -s "$PWD/node_modules" /tmp/before/
 *   npx tsx benchmarks/hit-ab.ts /tmp/before [memory|redis|l1] [rounds] [hits per round]
 *
 * Scenario A stays the measure of the targets; this one says what one commit changed.
 */
import http from 'node:http'
import { Duplex } from 'node:stream'
import { fileURLToPath } from 'node:url'
import Koa, { type Context } from 'koa'
import Router from '@koa/router'
import { sameHeadersCeiling } from './lib/ceiling.js'
import { makePayload } from './lib/payload.js'
import { sharedRedis, stopSharedRedis } from './lib/redis.js'
import { median } from './lib/stats.js'

type Mode = 'memory' | 'redis' | 'l1'
type Handler = ReturnType<Koa['callback']>

const [before, mode = 'memory', roundsArg = '31', hitsArg = '4000'] = process.argv.slice(2) as [string?, Mode?, string?, string?]
if (!before || !['memory', 'redis', 'l1'].includes(mode)) throw new Error('usage: tsx benchmarks/hit-ab.ts <before-tree> [memory|redis|l1] [rounds] [hits per round]')
const here = fileURLToPath(new URL('../', import.meta.url))
const quiet = { warn(): void {}, info(): void {} }
const redisUrl = mode === 'memory' ? '' : (await sharedRedis()).url

/** The cache app of one source tree; both trees' modules load side by side (different paths). */
async function cacheApp(root: string, tag: string): Promise<Handler> {
  const { createResponseCache } = (await import(`${root}/src/index.ts`)) as typeof import('../src/index.js')
  const { MemoryStore } = (await import(`${root}/adapters/memory.ts`)) as typeof import('../adapters/memory.js')
  const { RedisStore } = (await import(`${root}/adapters/redis.ts`)) as typeof import('../adapters/redis.js')
  const store = mode === 'memory' ? new MemoryStore() : new RedisStore({ url: redisUrl, logger: quiet })
  if (store instanceof RedisStore && !(await store.ready())) throw new Error('RedisStore did not connect')
  const l1 = mode === 'l1' ? { l1: { maxBytes: 8 * 2 ** 20 } } : {}
  const cache = createResponseCache({ store, namespace: `ab-${tag}-${Date.now().toString(36)}`, logger: quiet, ...l1 })
  // L1 is read only once its invalidation channel is subscribed.
  for (let i = 0; mode === 'l1' && i < 200 && (await cache.health()).l1?.channel !== 'subscribed'; i++) await sleep(50)
  const router = new Router()
  router.get('payload', '/payload', cache.route({ window: 3600 }), (ctx: Context) => {
    ctx.type = 'application/json'
    ctx.body = JSON.stringify(makePayload())
  })
  return new Koa().use(router.routes()).callback()
}

/** servers/hit-server.ts's ceiling-headers case. */
function ceilingApp(): Handler {
  const router = new Router()
  router.get('/payload', sameHeadersCeiling())
  return new Koa().use(router.routes()).callback()
}

/** A socket that takes every write and sends nothing. */
class Sink extends Duplex {
  override _read(): void {}
  override _write(_chunk: Buffer, _encoding: string, done: () => void): void {
    done()
  }
}

function request(handler: Handler, socket: Sink): Promise<number> {
  const req = new http.IncomingMessage(socket as never)
  Object.assign(req, { method: 'GET', url: '/payload', httpVersionMajor: 1, httpVersionMinor: 1, httpVersion: '1.1', complete: true })
  req.headers = { host: '127.0.0.1:3000', 'user-agent': 'hit-ab', accept: '*/*' }
  req.push(null)
  const res = new http.ServerResponse(req)
  res.assignSocket(socket as never)
  return new Promise((resolve) => {
    res.on('finish', () => {
      res.detachSocket(socket as never)
      resolve(res.statusCode)
    })
    void handler(req, res)
  })
}

/** CPU microseconds per request over `count` requests, 50 at a time. */
async function cpuPerRequest(handler: Handler, count: number): Promise<number> {
  let left = count
  const started = process.cpuUsage()
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      const socket = new Sink()
      while (left-- > 0) {
        const status = await request(handler, socket)
        if (status !== 200) throw new Error(`answered ${status}`)
      }
    }),
  )
  const used = process.cpuUsage(started)
  return (used.user + used.system) / count
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const apps: Record<'before' | 'after' | 'ceiling', Handler> = { before: await cacheApp(before, 'before'), after: await cacheApp(here, 'after'), ceiling: ceilingApp() }
const names = Object.keys(apps) as Array<keyof typeof apps>
for (const name of names) await cpuPerRequest(apps[name], 5000) // warm the JIT
const rounds = Number(roundsArg)
const hits = Number(hitsArg)
const cpu: Record<keyof typeof apps, number[]> = { before: [], after: [], ceiling: [] }
for (let round = 0; round < rounds; round++) {
  // Which app goes first rotates by round, so a slow drift of the machine hits each alike.
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length]!
    cpu[name].push(await cpuPerRequest(apps[name], hits))
  }
}
/** The median of per-round ratios b/a (a's speed-up over b when a is cheaper), and their range. */
function ratio(a: keyof typeof apps, b: keyof typeof apps): string {
  const each = cpu[a].map((x, i) => cpu[b][i]! / x).sort((x, y) => x - y)
  return `${median(each).toFixed(3)} (rounds ${each[0]!.toFixed(2)}..${each[each.length - 1]!.toFixed(2)})`
}
process.stdout.write(
  [
    `${mode}: ${rounds} rounds of ${hits} hits; CPU per request (median): before ${median(cpu.before).toFixed(2)} us, after ${median(cpu.after).toFixed(2)} us, ceiling ${median(cpu.ceiling).toFixed(2)} us`,
    `speed-up after/before: ${ratio('after', 'before')}`,
    `ceiling/after: ${ratio('after', 'ceiling')}   ceiling/before: ${ratio('before', 'ceiling')}`,
  ].join('\n') + '\n',
)
await stopSharedRedis()
process.exit(0)
