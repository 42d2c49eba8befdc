/**
 * The child side of a benchmark server: listens on a free loopback port, tells the parent over
 * IPC, answers the parent's commands, and sends events (circuit changes...) as they happen.
 * Each server runs in its own process so the load generator never shares its event loop.
 */
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import type Koa from 'koa'

export type Command = (args: unknown) => unknown

interface Request {
  id: number
  cmd: string
  args?: unknown
}

function send(message: unknown): void {
  process.send?.(message)
}

/** Sends an event to the parent, stamped with the child's wall clock. */
export function emitEvent(name: string, data: unknown = null): void {
  send({ type: 'event', name, data, at: Date.now() })
}

export interface ServeOptions {
  commands?: Record<string, Command>
  close?: () => Promise<void> | void
}

/** Serves `app` and runs until the parent sends 'stop' (or goes away). */
export async function serve(app: Koa, options: ServeOptions = {}): Promise<Server> {
  const server = app.listen(0, '127.0.0.1')
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.once('listening', resolve))
  attachIpc((server.address() as AddressInfo).port, {
    ...options,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await options.close?.()
    },
  })
  return server
}

/**
 * Answers the parent's commands for a server listening on `port`, and tells the parent it is
 * ready. Built-in commands: memory (after a GC when --expose-gc is on), cpu, stop.
 */
export function attachIpc(port: number, options: ServeOptions): void {
  const commands: Record<string, Command> = {
    memory: async (args) => {
      if ((args as { gc?: boolean } | null)?.gc !== false && globalThis.gc) {
        // Twice, with a pause: native memory behind collected objects is released by finalizers after the first.
        globalThis.gc()
        await sleep(100)
        globalThis.gc()
      }
      const usage = process.memoryUsage()
      return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers }
    },
    /** CPU time this process has used, in microseconds (user + system). */
    cpu: () => {
      const usage = process.cpuUsage()
      return usage.user + usage.system
    },
    /** Starts the V8 CPU profiler (benchmarks/profile-hit.ts): start-up and warm-up stay out of the profile. */
    'profile-start': () => profiler.start(),
    /** Stops it and writes the profile to `args.path` (.cpuprofile). */
    'profile-stop': (args) => profiler.stop((args as { path: string }).path),
    ...options.commands,
  }
  process.on('message', (raw: unknown) => {
    const request = raw as Request
    if (request.cmd === 'stop') {
      void Promise.resolve(options.close?.())
        .catch(() => {})
        .finally(() => {
          send({ type: 'reply', id: request.id, result: null })
          process.exit(0)
        })
      return
    }
    const command = commands[request.cmd]
    Promise.resolve()
      .then(() => {
        if (!command) throw new Error(`unknown command ${request.cmd}`)
        return command(request.args)
      })
      .then(
        (result) => send({ type: 'reply', id: request.id, result: result ?? null }),
        (error: unknown) => send({ type: 'reply', id: request.id, error: String((error as Error)?.stack ?? error) }),
      )
  })
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready', port })
}

/** A logger that keeps the cache's warnings out of the benchmark output but counts them. */
export function quietLogger(): { warn(obj: unknown, msg?: string): void; info(obj: unknown, msg?: string): void; warnings: number } {
  const logger = {
    warnings: 0,
    warn(): void {
      logger.warnings++
    },
    info(): void {},
  }
  return logger
}

const profiler = {
  session: undefined as Session | undefined,
  async start(): Promise<void> {
    this.session = new Session()
    this.session.connect()
    await this.session.post('Profiler.enable')
    await this.session.post('Profiler.start')
  },
  async stop(path: string): Promise<void> {
    if (!this.session) throw new Error('the profiler was not started')
    const { profile } = await this.session.post('Profiler.stop')
    this.session.disconnect()
    this.session = undefined
    await writeFile(path, JSON.stringify(profile))
  },
}

export function envString(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`benchmark server needs ${name}`)
  return value
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got ${raw}`)
  return value
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
