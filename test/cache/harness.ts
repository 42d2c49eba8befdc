/**
 * A real Koa app with @koa/router and the cache in front of a counting
 * handler, served on loopback, over MemoryStore or a real Redis server.
 */
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Koa, { type Context, type Middleware } from 'koa'
import Router from '@koa/router'
import tap, { type Test } from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { RedisStore } from '../../adapters/redis.js'
import { createResponseCache, type ResponseCache } from '../../src/index.js'
import type { CacheOptions, RouteOptions } from '../../src/cache/options.js'
import type { Logger } from '../../adapters/contract.js'
import { startRedis, type RedisServer } from '../support/redis.js'
import { engineOf } from '../../src/cache/engine.js'

export type StoreKind = 'memory' | 'redis'
export const STORE_KINDS: StoreKind[] = ['memory', 'redis']

let shared: Promise<RedisServer> | undefined

/** One real Redis server per test file, stopped when the file's tests end. */
export function sharedRedis(): Promise<RedisServer> {
  if (!shared) {
    const starting = startRedis()
    shared = starting
    tap.teardown(async () => (await starting).stop())
  }
  return shared
}

export async function makeStore(kind: StoreKind, logger: Logger = quietLogger()): Promise<MemoryStore | RedisStore> {
  if (kind === 'memory') return new MemoryStore()
  const server = await sharedRedis()
  const store = new RedisStore({ url: server.url, logger })
  await store.ready()
  return store
}

/** A settable clock starting `offsetMs` into a fresh bucket of `windowS` seconds near real time. */
export class TestClock {
  ms: number
  constructor(windowS = 30, offsetMs = 1000) {
    const windowMs = windowS * 1000
    this.ms = Math.floor(Date.now() / windowMs) * windowMs + offsetMs
  }
  now = (): number => this.ms
  advance(ms: number): void {
    this.ms += ms
  }
}

export interface Handler {
  (ctx: Context, call: number): unknown | Promise<unknown>
}

export interface Harness {
  cache: ResponseCache
  clock: TestClock
  namespace: string
  /** How many times the handler ran. */
  calls(): number
  /** How many requests reached the app, counted before the cache: concurrency without assuming timing. */
  arrived(): number
  get(path: string, headers?: Record<string, string>, method?: string): Promise<Reply>
}

export interface Reply {
  status: number
  headers: Headers
  xcache: string | null
  text: string
  bytes: Buffer
}

export interface HarnessOptions {
  kind: StoreKind
  route?: Partial<RouteOptions>
  handler?: Handler
  cache?: Partial<CacheOptions>
  clock?: TestClock
  logger?: Logger
  /** Methods the route answers; default GET only (HEAD comes with it). */
  methods?: Array<'get' | 'post'>
  /** Runs ahead of the cache on the route, for every request (a test counting arrivals). */
  before?: Middleware
}

/** The default handler answers JSON with the call number, so each computation is told apart. */
const defaultHandler: Handler = (ctx, call) => {
  ctx.body = { call, path: ctx.path }
}

export async function harness(t: Test, options: HarnessOptions): Promise<Harness> {
  const clock = options.clock ?? new TestClock(options.route?.window ?? 30)
  const namespace = `t${randomUUID().slice(0, 8)}`
  const logger = options.logger ?? quietLogger()
  const cache = createResponseCache({
    store: options.cache?.store ?? (await makeStore(options.kind, logger)),
    namespace,
    clock: clock.now,
    logger,
    ...options.cache,
  })
  let calls = 0
  let arrived = 0
  const handler = options.handler ?? defaultHandler
  const app = new Koa()
  app.silent = true
  app.use((_ctx, next) => {
    arrived++
    return next()
  })
  const router = new Router()
  const middleware = cache.route({ window: 30, ...options.route })
  const ahead: Middleware[] = options.before ? [options.before] : []
  for (const method of options.methods ?? ['get']) {
    router[method]('data', '/data', ...ahead, middleware, async (ctx) => {
      calls++
      await handler(ctx, calls)
    })
  }
  app.use(router.routes())
  const base = await serveApp(t, app, cache)
  return {
    cache,
    clock,
    namespace,
    calls: () => calls,
    arrived: () => arrived,
    async get(path, headers = {}, method = 'GET') {
      const response = await fetch(base + path, { headers, method, redirect: 'manual' })
      const bytes = Buffer.from(await response.arrayBuffer())
      return { status: response.status, headers: response.headers, xcache: response.headers.get('x-cache'), text: bytes.toString(), bytes }
    },
  }
}

/** Serves `app` on loopback until the test ends, then closes the server and the cache; the base URL. */
export async function serveApp(t: Test, app: Koa, cache: ResponseCache): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await cache.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Records log lines instead of printing them, so tests can count warnings. */
export function quietLogger(): Logger & { lines: Array<{ level: string; msg: string | undefined; obj: unknown }> } {
  const lines: Array<{ level: string; msg: string | undefined; obj: unknown }> = []
  return {
    lines,
    warn: (obj, msg) => lines.push({ level: 'warn', msg: typeof obj === 'string' ? obj : msg, obj }),
    info: (obj, msg) => lines.push({ level: 'info', msg: typeof obj === 'string' ? obj : msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg: typeof obj === 'string' ? obj : msg, obj }),
  }
}

/** Polls until `check` passes; background work is observed, never assumed from a sleep. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return check()
}

/**
 * Polls until no computation of `cache` is in flight. A flight is held until its store write and
 * lock release settle, so afterwards every finished computation's entry has landed: a test that
 * expects a HIT waits for this instead of assuming the write beat the next request.
 */
export function settled(cache: ResponseCache): Promise<boolean> {
  return eventually(() => engineOf(cache).flights.size === 0)
}
