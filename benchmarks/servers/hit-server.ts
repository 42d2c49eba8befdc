/**
 * One Koa app, one route (GET /payload, ~2 KB of JSON), in front of the cache under test.
 * BENCH_CASE picks what answers it; every case counts how often the payload was computed, so the
 * parent can prove it measured hits.
 */
import Koa, { type Context, type Next } from 'koa'
import Router from '@koa/router'
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import koaCash from 'koa-cash'
import { Keyv } from 'keyv'
import KeyvRedis, { createClient } from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisDriver } from 'bentocache/drivers/redis'
import { createResponseCache } from '../../src/index.js'
import { MemoryStore } from '../../adapters/memory.js'
import { RedisStore } from '../../adapters/redis.js'
import { HIT_CASES, type HitCase } from '../lib/hit-cases.js'
import { sameHeadersCeiling } from '../lib/ceiling.js'
import { makePayload, PAYLOAD_BYTES, type Payload } from '../lib/payload.js'
import { envString, quietLogger, serve, sleep } from './child.js'


const HOUR_MS = 3_600_000
let computations = 0
let health: (() => Promise<unknown>) | undefined
const closers: Array<() => Promise<unknown> | unknown> = []

/** The work behind a miss: build and serialise the payload. */
function compute(): string {
  computations++
  return JSON.stringify(makePayload())
}

function redisUrl(): string {
  return envString('REDIS_URL')
}

function ioredis(): Redis {
  const client = new Redis(redisUrl(), { lazyConnect: false })
  closers.push(() => client.quit())
  return client
}

async function build(kind: HitCase, router: Router, prefix: string): Promise<void> {
  switch (kind) {
    case 'ceiling':
      router.get('/payload', function ceiling(ctx: Context) {
        ctx.type = 'application/json'
        ctx.body = PAYLOAD_BYTES
      })
      return
    case 'ceiling-headers': {
      // What a hit sends besides the body: a strong ETag, X-Cache, Age and Cache-Control, the
      // last two computed per request as a hit computes them. A hit is measured against this.
      router.get('/payload', sameHeadersCeiling())
      return
    }
    case 'cache-memory':
    case 'cache-redis':
    case 'cache-redis-l1':
    case 'cache-redis-single-get':
    case 'cache-redis-unpipelined': {
      const store =
        kind === 'cache-memory'
          ? new MemoryStore()
          : kind === 'cache-redis-unpipelined'
            ? new RedisStore({ client: unpipelined(), logger: quietLogger() })
            : new RedisStore({ url: redisUrl(), logger: quietLogger() })
      if (store instanceof RedisStore && !(await store.ready())) throw new Error('RedisStore did not connect')
      const l1 = kind === 'cache-redis-l1' ? { l1: { maxBytes: 8 * 2 ** 20 } } : {}
      const cache = createResponseCache({ store, namespace: prefix, logger: quietLogger(), ...l1 })
      closers.push(() => cache.close())
      health = () => cache.health()
      // L1 is read only once its invalidation channel is subscribed: a hit before that goes to Redis.
      if (kind === 'cache-redis-l1') await until(async () => (await cache.health()).l1?.channel === 'subscribed', 'the L1 invalidation channel to subscribe')
      // stale: 0 reads one key (GET) instead of current + previous bucket (MGET): a diagnostic case.
      const route = kind === 'cache-redis-single-get' ? { window: 3600, stale: 0 } : { window: 3600 }
      router.get('payload', '/payload', cache.route(route), function handler(ctx: Context) {
        ctx.type = 'application/json'
        ctx.body = compute()
      })
      return
    }
    case 'koa-cash-memory':
    case 'koa-cash-redis': {
      let get: (key: string) => unknown
      let set: (key: string, value: unknown, maxAge: number) => unknown
      if (kind === 'koa-cash-memory') {
        const lru = new LRUCache<string, object>({ max: 10_000 })
        get = (key) => lru.get(key)
        set = (key, value, maxAge) => lru.set(key, value as object, maxAge > 0 ? { ttl: maxAge } : {})
      } else {
        // koa-cash's README pattern for Redis: the cached object as JSON.
        const client = ioredis()
        get = async (key) => {
          const raw = await client.get(`${prefix}:${key}`)
          return raw === null ? undefined : (JSON.parse(raw) as unknown)
        }
        set = (key, value, maxAge) => client.set(`${prefix}:${key}`, JSON.stringify(value), 'PX', maxAge)
      }
      router.use(koaCash({ get, set, maxAge: HOUR_MS }))
      router.get('/payload', async function handler(ctx: Context) {
        if (await (ctx as unknown as { cashed(): Promise<boolean> }).cashed()) return
        ctx.type = 'application/json'
        ctx.body = compute()
      })
      return
    }
    case 'keyv-redis-object': {
      // Keyv's README pattern: the value is the object itself, Keyv serialises it (JSON) on
      // set and parses it on every get; Koa stringifies the object again for each answer.
      const keyv = keyvOnRedis(prefix)
      router.get('/payload', async function keyvObjectCache(ctx: Context) {
        let payload = await keyv.get<Payload>(ctx.url)
        if (payload === undefined) {
          computations++
          payload = makePayload()
          await keyv.set(ctx.url, payload, HOUR_MS)
        }
        ctx.body = payload
      })
      return
    }
    case 'keyv-redis': {
      // Keyv + @keyv/redis with the body kept as a ready string: get, else compute and set.
      const keyv = keyvOnRedis(prefix)
      router.get('/payload', async function keyvCache(ctx: Context, next: Next) {
        const key = ctx.url
        const cached = await keyv.get<string>(key)
        ctx.type = 'application/json'
        if (cached !== undefined) {
          ctx.body = cached
          return
        }
        await next()
        if (typeof ctx.body === 'string') await keyv.set(key, ctx.body, HOUR_MS)
      }, function handler(ctx: Context) {
        ctx.body = compute()
      })
      return
    }
    case 'bento-memory':
    case 'bento-redis': {
      const store =
        kind === 'bento-memory'
          ? bentostore().useL1Layer(memoryDriver({ maxSize: '64mb' }))
          : bentostore().useL2Layer(redisDriver({ connection: ioredisOptions() }))
      const bento = new BentoCache({ default: 'bench', prefix, stores: { bench: store } })
      closers.push(() => bento.disconnectAll())
      router.get('/payload', async function bentoCache(ctx: Context) {
        ctx.type = 'application/json'
        ctx.body = await bento.getOrSet({ key: ctx.url, factory: compute, ttl: HOUR_MS })
      })
      return
    }
    case 'redis-get': {
      const client = ioredis()
      await client.set(`${prefix}:plain`, PAYLOAD_BYTES)
      plainGetRoute(router, () => client.getBuffer(`${prefix}:plain`))
      return
    }
    case 'node-redis-get': {
      // The same floor on node-redis, the client @keyv/redis uses.
      const client = createClient({ url: redisUrl() })
      client.on('error', () => {})
      await client.connect()
      closers.push(() => client.close())
      await client.set(`${prefix}:plain`, PAYLOAD_BYTES)
      plainGetRoute(router, () => client.get(`${prefix}:plain`))
      return
    }
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

function keyvOnRedis(prefix: string): Keyv {
  const keyv = new Keyv({ store: new KeyvRedis(redisUrl()), namespace: prefix })
  keyv.on('error', () => {})
  closers.push(() => keyv.disconnect())
  return keyv
}

/** The floor for a Redis hit: one GET per request, the answer written as it comes back. */
function plainGetRoute(router: Router, read: () => Promise<Buffer | string | null>): void {
  router.get('/payload', async function plainGet(ctx: Context) {
    ctx.type = 'application/json'
    ctx.body = await read()
  })
}

/**
 * The client RedisStore builds (same timeouts, no offline queue) without its auto-pipelining: each
 * command is its own write, as in the plain GET route. Says what auto-pipelining costs or saves.
 */
function unpipelined(): Redis {
  return new Redis(redisUrl(), { enableAutoPipelining: false, commandTimeout: 100, connectTimeout: 2000, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
}

function ioredisOptions(): { host: string; port: number } {
  const url = new URL(redisUrl())
  return { host: url.hostname, port: Number(url.port || 6379) }
}

const kind = envString('BENCH_CASE') as HitCase
if (!HIT_CASES.includes(kind)) throw new Error(`unknown BENCH_CASE ${kind}`)
const app = new Koa()
const router = new Router()
await build(kind, router, envString('BENCH_PREFIX', 'bench'))
app.use(router.routes())
await serve(app, {
  commands: {
    stats: async () => {
      const h = (await health?.()) as { store_errors: number; circuit: string; l1: { hits: number } | null } | undefined
      return { computations, storeErrors: h?.store_errors ?? 0, circuit: h?.circuit ?? 'n/a', l1Hits: h?.l1?.hits }
    },
  },
  close: async () => {
    await Promise.allSettled(closers.map((close) => close()))
  },
})
