/**
 * Does an open dashboard cost hit throughput? One Koa app answering a cached ~2 KB JSON payload
 * from memory (every request a HIT), each case in its own server process, loaded by autocannon
 * from this process in interleaved rounds (best and median round reported):
 *   none     no dashboard (the cache emits no events at all)
 *   mounted  dashboard mounted, nobody watching (per-hit event, counter and ring write)
 *   viewer   one live stream open (what a browser tab holds: EventSource, 1 frame a second)
 *   viewers  ten live streams
 *   browser  a real headless Chromium page on /dashboard (when /usr/bin/chromium exists;
 *            on a 2-core machine the browser's own CPU competes with the server)
 * Usage: npx tsx benchmarks/dashboard-overhead.ts [seconds per round, default 5] [rounds, default 3]
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { get } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import Koa from 'koa'
import Router from '@koa/router'
import { MemoryStore } from '../adapters/memory.js'
import { createResponseCache } from '../src/index.js'
import { createDashboard } from '../src/dashboard/index.js'
import { throughput } from './lib/load.js'
import { PAYLOAD_JSON } from './lib/payload.js'

type Case = 'none' | 'mounted' | 'viewer' | 'viewers' | 'browser'

async function serve(kind: Case): Promise<void> {
  const cache = createResponseCache({ store: new MemoryStore(), namespace: 'bench', logger: { warn() {} } })
  const app = new Koa()
  const router = new Router()
  if (kind !== 'none') {
    const dashboard = createDashboard(cache)
    router.get('/dashboard', dashboard.middleware)
    router.get('/dashboard/:part', dashboard.middleware)
    router.get('/dashboard/assets/:file', dashboard.middleware)
  }
  router.get('payload', '/payload', cache.route({ window: 3600 }), (ctx) => {
    ctx.type = 'application/json'
    ctx.body = PAYLOAD_JSON
  })
  app.use(router.routes())
  const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`))
}

async function start(kind: Case): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', kind], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())))
  return { child, url: `http://127.0.0.1:${port}` }
}

async function watchers(kind: Case, url: string): Promise<() => Promise<void>> {
  if (kind === 'viewer' || kind === 'viewers') {
    const requests = Array.from({ length: kind === 'viewer' ? 1 : 10 }, () => get(`${url}/dashboard/events`, (res) => res.resume()))
    return async () => requests.forEach((r) => r.destroy())
  }
  if (kind === 'browser') {
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new'] })
    const page = await browser.newPage()
    await page.goto(`${url}/dashboard`)
    await page.waitForSelector('tr[data-route="payload"]')
    return () => browser.close()
  }
  return async () => {}
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5)
  const rounds = Number(process.argv[3] ?? 3)
  const cases: Case[] = ['none', 'mounted', 'viewer', 'viewers', ...(existsSync('/usr/bin/chromium') ? ['browser' as const] : [])]
  const results = new Map<Case, number[]>(cases.map((c) => [c, []]))
  for (let round = 0; round < rounds; round++) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]!)
    for (const kind of order) {
      const { child, url } = await start(kind)
      await throughput(url, { connections: 1, duration: 1, path: '/payload' }) // fills the cache
      const stop = await watchers(kind, url)
      await throughput(url, { connections: 50, duration: 2, path: '/payload' }) // warm-up
      const { rps, non2xx, errors } = await throughput(url, { connections: 50, duration: seconds, path: '/payload' })
      await stop()
      child.kill()
      if (non2xx + errors > 0) throw new Error(`${kind}: ${non2xx} non-2xx, ${errors} errors`)
      results.get(kind)!.push(rps)
      console.log(`round ${round + 1} ${kind.padEnd(8)} ${Math.round(rps)} req/s`)
    }
  }
  const base = Math.max(...results.get('none')!)
  console.log('\ncase      best req/s  median req/s  best vs none')
  for (const [kind, list] of results) {
    const sorted = [...list].sort((a, b) => a - b)
    const best = sorted.at(-1)!
    console.log(`${kind.padEnd(9)} ${String(Math.round(best)).padStart(10)}  ${String(Math.round(sorted[Math.floor(sorted.length / 2)]!)).padStart(12)}  ${(((best - base) / base) * 100).toFixed(1).padStart(10)}%`)
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3] as Case)
else await main()
