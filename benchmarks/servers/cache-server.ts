/**
 * A Koa app with koa-bucket-cache in front of routes whose cost the scenario sets, for the
 * stampede, outage, rollover, memory and event-loop scenarios. Configured by environment:
 *   STORE          memory | redis | unbounded (a MemoryStore with no practical budget)
 *   REDIS_URL      for STORE=redis
 *   BENCH_PREFIX   the cache namespace (unique per server, so every start is cold)
 *   WINDOW         bucket length of /slow in seconds (default 3600)
 *   STALE          route `stale` in seconds for /slow (default: the library's)
 *   WARM           1: route `warm` on for /slow
 *   HANDLER_MS     how long /slow's handler waits before answering (default 0)
 *   BODY_BYTES     size of /slow's body (default: the ~2 KB payload)
 *   MAX_BYTES      MemoryStore byte budget (default: the library's)
 *   BUSY_MODE      worker | main: where /busy burns CPU (default worker)
 *   BUSY_MS        how long /busy computes (default 2000)
 */
import { Worker } from 'node:worker_threads'
import Koa, { type Context } from 'koa'
import Router from '@koa/router'
import { createResponseCache, type CircuitState, type RouteOptions } from '../../src/index.js'
import { MemoryStore } from '../../adapters/memory.js'
import { RedisStore } from '../../adapters/redis.js'
import { PAYLOAD_BYTES } from '../lib/payload.js'
import { emitEvent, envNumber, envString, quietLogger, serve, sleep } from './child.js'

const storeKind = envString('STORE', 'memory')
const logger = quietLogger()
const maxBytes = process.env.MAX_BYTES ? envNumber('MAX_BYTES', 0) : undefined
let store: MemoryStore | RedisStore
if (storeKind === 'redis') {
  store = new RedisStore({ url: envString('REDIS_URL'), logger })
  if (!(await store.ready())) throw new Error('RedisStore did not connect')
} else if (storeKind === 'unbounded') {
  // lru-cache preallocates per-entry arrays of maxEntries: large enough for any flood here, no more.
  store = new MemoryStore({ maxBytes: 2 ** 31 - 1, maxEntries: 200_000 })
} else {
  store = new MemoryStore(maxBytes === undefined ? {} : { maxBytes })
}

const cache = createResponseCache({ store, namespace: envString('BENCH_PREFIX', 'bench'), logger })
cache.on('circuit', (state: CircuitState) => emitEvent('circuit', state))

const handlerMs = envNumber('HANDLER_MS', 0)
const bodyBytes = envNumber('BODY_BYTES', 0)
const body = bodyBytes > 0 ? Buffer.from(JSON.stringify({ pad: 'x'.repeat(Math.max(0, bodyBytes - 10)) })) : PAYLOAD_BYTES
const slowRoute: RouteOptions = {
  window: envNumber('WINDOW', 3600),
  warm: process.env.WARM === '1',
  ...(process.env.STALE === undefined ? {} : { stale: envNumber('STALE', 0) }),
}

let computations = 0
let busyRuns = 0
const router = new Router()

router.get('slow', '/slow', cache.route(slowRoute), async function slow(ctx: Context) {
  if (handlerMs > 0) await sleep(handlerMs)
  computations++
  ctx.type = 'application/json'
  ctx.body = body
})

router.get('hit', '/hit', cache.route({ window: 3600 }), function hit(ctx: Context) {
  ctx.type = 'application/json'
  ctx.body = PAYLOAD_BYTES
})

const busyMode = envString('BUSY_MODE', 'worker')
const busyMs = envNumber('BUSY_MS', 2000)
router.get('busy', '/busy', cache.route({ window: 3600 }), async function busy(ctx: Context) {
  busyRuns++
  const result = busyMode === 'main' ? burn(busyMs) : await burnInWorker(busyMs)
  ctx.type = 'application/json'
  ctx.body = { result }
})

/** CPU work on this thread: nothing else runs meanwhile. */
function burn(ms: number): number {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x += Math.sqrt(x + 1)
  return x
}

const BURN_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const end = performance.now() + workerData
let x = 0
while (performance.now() < end) x += Math.sqrt(x + 1)
parentPort.postMessage(x)
`

/** The same work on a worker thread, as the energy service computes. */
function burnInWorker(ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BURN_SOURCE, { eval: true, workerData: ms, execArgv: [] })
    worker.once('message', (x: number) => {
      resolve(x)
      void worker.terminate()
    })
    worker.once('error', reject)
  })
}

const app = new Koa()
app.silent = true
app.use(router.routes())
await serve(app, {
  commands: {
    stats: async () => ({ computations, busyRuns, warnings: logger.warnings, health: await cache.health() }),
    storeBytes: () => (store instanceof MemoryStore ? { bytes: store.bytes, entries: store.size, max: store.opts.maxBytes } : null),
  },
  close: () => cache.close(),
})
