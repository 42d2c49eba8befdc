/**
 * A real Koa app with the cache on one route and the dashboard mounted, served on loopback.
 */
import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import Router from '@koa/router'
import type { Test } from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { createResponseCache, type CacheOptions, type ResponseCache } from '../../src/index.js'
import { createDashboard, type Dashboard, type DashboardOptions } from '../../src/dashboard/index.js'
import { quietLogger, TestClock } from '../cache/harness.js'

export interface DashboardApp {
  cache: ResponseCache
  dashboard: Dashboard
  clock: TestClock
  logger: ReturnType<typeof quietLogger>
  base: string
  /** Errors the Koa app reported (its 'error' event). */
  errors: unknown[]
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; xcache: string | null; text: string; type: string | null }>
  json<T = any>(path: string): Promise<T>
}

export async function dashboardApp(t: Test, options: { cache?: Partial<CacheOptions>; dashboard?: DashboardOptions } = {}): Promise<DashboardApp> {
  const clock = new TestClock(30)
  const logger = quietLogger()
  const cache = createResponseCache({ store: new MemoryStore(), namespace: `d${randomUUID().slice(0, 8)}`, clock: clock.now, logger, ...options.cache })
  const dashboard = createDashboard(cache, { logger, ...options.dashboard })
  const app = new Koa()
  app.silent = true
  const errors: unknown[] = []
  app.on('error', (error: unknown) => errors.push(error))
  app.use(dashboard.middleware)
  const router = new Router()
  for (const name of ['alpha', 'beta']) {
    router.get(name, `/${name}`, cache.route({ window: 30 }), async (ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      ctx.body = { name }
    })
  }
  app.use(router.routes())
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(async () => {
    dashboard.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await cache.close()
  })
  const get: DashboardApp['get'] = async (path, headers = {}) => {
    const response = await fetch(base + path, { headers })
    return { status: response.status, xcache: response.headers.get('x-cache'), text: await response.text(), type: response.headers.get('content-type') }
  }
  return { cache, dashboard, clock, logger, base, errors, get, json: async (path) => JSON.parse((await get(path)).text) }
}
