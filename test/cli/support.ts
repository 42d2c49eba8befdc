/**
 * For the CLI tests: a tiny Koa app whose three routes are cached on a real Redis by the real
 * cache (so the entries are the ones the cache writes), and the CLI run in process with captured
 * streams, or as a process through `npm run cli`'s entry.
 */
import { spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import Koa from 'koa'
import Router from '@koa/router'
import type { Test } from 'tap'
import { RedisStore, type RedisStoreOptions } from '../../adapters/redis.js'
import { createResponseCache, type ResponseCache } from '../../src/index.js'
import { run } from '../../src/cli/program.js'
import type { CliIo } from '../../src/cli/context.js'
import { quietLogger, serveApp } from '../cache/harness.js'
import { NO_COVERAGE } from '../support/no-coverage.js'

export const ROUTES = ['gradient', 'monitor', 'calibrate'] as const

export interface App {
  base: string
  cache: ResponseCache
  store: RedisStore
  calls: Record<string, number>
}

/** Routes /energy/<name>, cached for 30 s (60 s for calibrate) under `namespace`, as the service does. */
export async function startApp(t: Test, storeOptions: RedisStoreOptions, namespace: string): Promise<App> {
  // A 1 s command budget: the app only fills Redis for the CLI to read, and 100 ms (the
  // default) fails now and then on a loaded machine.
  const store = new RedisStore({ operationTimeout: 1_000, ...storeOptions, logger: quietLogger() })
  t.equal(await store.ready(), true, 'the app reaches Redis')
  const cache = createResponseCache({ store, namespace, logger: quietLogger() })
  const calls: Record<string, number> = {}
  const router = new Router()
  for (const name of ROUTES) {
    calls[name] = 0
    router.get(name, `/energy/${name}`, cache.route({ window: name === 'calibrate' ? 60 : 30, name, query: false }), (ctx) => {
      calls[name]!++
      ctx.body = { route: name, call: calls[name], padding: 'x'.repeat(600) }
    })
  }
  // Like the service's /health: the counters `stats --url` and `health --url` read.
  router.get('health', '/health', async (ctx) => {
    ctx.body = await cache.health()
  })
  const app = new Koa()
  app.silent = true
  app.use(router.routes())
  return { base: await serveApp(t, app, cache), cache, store, calls }
}

/** Requests each route until Redis holds its entry (the cache writes after answering). */
export async function fill(app: App, prefixOf: (route: string) => string): Promise<void> {
  for (const name of ROUTES) await fetch(`${app.base}/energy/${name}`).then((r) => r.arrayBuffer())
  const deadline = Date.now() + 10_000
  for (const name of ROUTES) {
    while ((await app.store.countPrefix(prefixOf(name))) === 0) {
      if (Date.now() > deadline) throw new Error(`no entry for ${name} reached Redis`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

export interface Ran {
  code: number
  stdout: string
  stderr: string
  stdoutBytes: Buffer
  /** stdout parsed as JSON. */
  json<T = any>(): T
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  /** Pretend stdin (and stdout) are a terminal. */
  tty?: boolean
  /** Lines typed on stdin. */
  input?: string
}

/** Runs the CLI in this process with captured streams. */
export async function cli(argv: string[], options: RunOptions = {}): Promise<Ran> {
  const stdout = capture(options.tty)
  const stderr = capture(options.tty)
  const stdin = Object.assign(new PassThrough(), { isTTY: options.tty === true })
  if (options.input !== undefined) stdin.end(options.input)
  const io: CliIo = { stdout: stdout.stream, stderr: stderr.stream, stdin, env: options.env ?? {} }
  const code = await run(argv, io)
  return result(code, stdout.bytes(), stderr.bytes())
}

function capture(tty: boolean | undefined): { stream: PassThrough & { isTTY: boolean; columns: number }; bytes(): Buffer } {
  const chunks: Buffer[] = []
  const stream = Object.assign(new PassThrough(), { isTTY: tty === true, columns: 100 })
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  return { stream, bytes: () => Buffer.concat(chunks) }
}

function result(code: number, out: Buffer, err: Buffer): Ran {
  return {
    code,
    stdout: out.toString(),
    stderr: err.toString(),
    stdoutBytes: out,
    json: () => JSON.parse(out.toString()),
  }
}

/**
 * Runs the CLI's entry as `npm run cli` does (tsx, no build), with `env` added to this process's.
 * The child records no coverage (see test/support/no-coverage.ts).
 */
export function cliProcess(argv: string[], env: Record<string, string> = {}, entry = 'src/cli/main.ts'): Promise<Ran> {
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', entry, ...argv] : [entry, ...argv]
  return processResult(spawn(process.execPath, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }))
}

/** This process's environment plus `extra`, for a tsx child that records no coverage (test/support/no-coverage.ts). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...NO_COVERAGE, ...extra }
}

export function processResult(child: ReturnType<typeof spawn>): Promise<Ran> {
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk))
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(result(code ?? -1, Buffer.concat(out), Buffer.concat(err))))
  })
}
