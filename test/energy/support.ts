/**
 * Helpers for the energy service tests: the reference's response shapes, an in-process server,
 * and the real server process started the way `npm start` starts it.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { loadConfig } from '../../src/energy/config.js'
import { createEnergyServer, createLogger, type EnergyServer, type EnergyServerOptions } from '../../src/energy/server.js'
import { NO_COVERAGE } from '../support/no-coverage.js'
import { waitUntil } from '../support/probe.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

// ---------------------------------------------------------------------------------------------
// Shapes of /energy/* answers (seedcore-energy.md): a leaf names the JSON type, an array holds the
// schema of its items.

type Schema = 'number' | 'string' | 'boolean' | readonly [Schema] | { readonly [field: string]: Schema }

const TERMS = { pair: 'number', hyper: 'number', entropy: 'number', reg: 'number', mem: 'number', total: 'number' } as const
const ROLE_PROBS = { E: 'number', S: 'number', O: 'number' } as const

export const SHAPES: Record<'gradient' | 'monitor' | 'calibrate', Schema> = {
  gradient: {
    ts: 'number',
    E_terms: TERMS,
    deltaE_last: 'number',
    pair_stats_count: 'number',
    hyper_stats_count: 'number',
    role_entropy_count: 'number',
    mem_stats_count: 'number',
    real_time_metrics: {
      active_agents: 'number',
      total_agents: 'number',
      memory_utilization: 'number',
      compression_knob: 'number',
      last_energy_update: 'number',
    },
    agent_summaries: [{ agent_id: 'string', capability: 'number', mem_util: 'number', role_probs: ROLE_PROBS }],
    breakdown: TERMS,
    grad: { 'dE/dH': 'number', 'dE/dP_entropy': 'number', 'dE/dE_sel': ['number'], 'dE/ds_norm': 'number', 'dE/dmem': 'number' },
  },
  monitor: {
    timestamp: 'number',
    energy_terms: TERMS,
    memory_metrics: { cost_vq: 'number', bytes_used_kb: 'number', hit_count: 'number', compression_ratio: 'number' },
    agent_metrics: {
      total_agents: 'number',
      active_agents: 'number',
      avg_capability: 'number',
      avg_mem_util: 'number',
      agent_details: [
        {
          agent_id: 'string',
          capability: 'number',
          mem_util: 'number',
          role_probs: ROLE_PROBS,
          tasks_processed: 'number',
          success_rate: 'number',
          energy_proxy: { capability: 'number', entropy_contribution: 'number', mem_util: 'number', state_norm: 'number' },
          last_heartbeat: 'number',
          is_active: 'boolean',
        },
      ],
    },
    system_metrics: { compression_knob: 'number', energy_slope: 'number', ray_initialized: 'boolean', tier0_manager_available: 'boolean' },
    router_metrics: {
      p_fast: 'number', p_esc: 'number', latency_ms_p50: 'number', latency_ms_p95: 'number', fast_hits: 'number', escalations: 'number',
    },
  },
  calibrate: {
    timestamp: 'number',
    calibration_metrics: {
      total_tasks: 'number',
      successful_tasks: 'number',
      final_energy: 'number',
      energy_trend: 'number',
      energy_range: { min: 'number', max: 'number' },
      trend_direction: 'string',
      calibration_quality: 'string',
    },
    energy_history: [{ task_num: 'number', energy: 'number', timestamp: 'number' }],
    task_results: [{ task_id: 'string', agent_id: 'string', success: 'boolean', energy: 'number' }],
    agent_summary: { total_agents: 'number', active_agents: 'number', agent_ids: ['string'] },
  },
}

/** Where `value` departs from `schema`: missing fields, wrong types, non-finite numbers. Extra fields are allowed. */
export function shapeProblems(value: unknown, schema: Schema, path = '$'): string[] {
  if (schema === 'number') {
    return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path}: expected a finite number, got ${JSON.stringify(value)}`]
  }
  if (schema === 'string' || schema === 'boolean') {
    return typeof value === schema ? [] : [`${path}: expected a ${schema}, got ${JSON.stringify(value)}`]
  }
  if (Array.isArray(schema)) {
    if (!Array.isArray(value)) return [`${path}: expected an array`]
    return value.flatMap((item, i) => shapeProblems(item, schema[0] as Schema, `${path}[${i}]`))
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object`]
  const record = value as Record<string, unknown>
  return Object.entries(schema).flatMap(([field, sub]) =>
    field in record ? shapeProblems(record[field], sub, `${path}.${field}`) : [`${path}.${field}: missing`],
  )
}

/** Every number anywhere in `value` is finite (JSON turns NaN and Infinity into null: no nulls either). */
export function nonFinite(value: unknown, path = '$'): string[] {
  if (value === null) return [`${path}: null`]
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path}: ${value}`]
  if (Array.isArray(value)) return value.flatMap((v, i) => nonFinite(v, `${path}[${i}]`))
  if (typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}.${k}`))
  return []
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Answer {
  status: number
  headers: Headers
  text: string
  json: any // eslint-disable-line @typescript-eslint/no-explicit-any -- test code reads fields freely
  ms: number
}

export async function request(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now()
  const response = await fetch(`${base}${path}`, init)
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json, ms: performance.now() - started }
}

/** Sum of every sample of `name` in Prometheus text whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** waitUntil (test/support/probe.ts) for a value: resolves with the first one `probe` finds. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  let found: T | undefined
  await waitUntil(
    what,
    async () => {
      const value = await probe()
      if (value === undefined || value === false) return false
      found = value
      return true
    },
    { timeoutMs },
  )
  return found as T
}

/**
 * Waits until at least `marginMs` remain in the current bucket of `windowS` seconds, so that two
 * requests against the real clock fall in one bucket (a rollover in between would give STALE).
 */
export async function insideBucket(windowS: number, marginMs: number): Promise<void> {
  const windowMs = windowS * 1000
  const left = windowMs - (Date.now() % windowMs)
  if (left < marginMs) await sleep(left + 50)
}

// ---------------------------------------------------------------------------------------------
// In-process server

/** A clock a test moves by hand; starts 1 s into a bucket of both 30 s and 60 s. */
export function manualClock(): { now: () => number; advance(ms: number): void } {
  let now = Math.floor(Date.now() / 60_000) * 60_000 + 1000
  return { now: () => now, advance: (ms) => void (now += ms) }
}

/** A pino logger as the service builds it (redaction included), whose lines the test reads back. */
export function captureLogs(level: 'debug' | 'info' = 'info'): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { logger: createLogger(level, sink), lines: () => lines }
}

export interface Running {
  energy: EnergyServer
  base: string
}

/** createEnergyServer + listen on a free port, closed at teardown. Small, quiet defaults. */
export async function serveInProcess(t: Test, env: Record<string, string> = {}, options: EnergyServerOptions = {}): Promise<Running> {
  const config = loadConfig({ PORT: '0', ENERGY_AGENTS: '48', ENERGY_THREADS: '1', LOG_LEVEL: 'silent', ...env })
  const energy = createEnergyServer(config, options)
  t.teardown(() => energy.close())
  const { port } = await energy.listen()
  return { energy, base: `http://127.0.0.1:${port}` }
}

// ---------------------------------------------------------------------------------------------
// The real process, as `npm start` runs it (tsx), recording no coverage (test/support/no-coverage.ts)

/** The test process's environment minus tap's hooks and any REDIS_* a developer has set. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('TAP') || key.startsWith('_TAPJS') || key.startsWith('REDIS_')) continue
    if (['PORT', 'ADMIN_TOKEN', 'LOG_LEVEL'].includes(key) || key.startsWith('ENERGY_')) continue
    env[key] = value
  }
  return { ...env, ...extra }
}

export interface ServerProcess {
  child: ChildProcess
  pid: number
  /** stdout lines so far (pino JSON, one per event). */
  lines: string[]
  stderr: () => string
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Parsed log entries so far. */
  logs(): Array<Record<string, unknown>>
}

export interface SpawnOptions {
  /** The command; default `node --import tsx src/energy/server.ts`. */
  command?: string[]
  /** Own process group, so a wrapper (npm) and its children can all be killed at teardown. */
  group?: boolean
  /**
   * Runs server.ts under this test process's own loaders with tap's variables kept, so that the
   * child's coverage counts; any other child (tsx) records none (test/support/no-coverage.ts).
   * For tests about the process itself (signals, exit codes, its log); `npm start`'s own runtime
   * is tested without it.
   * The coverage is written when the child exits by itself, not on the teardown's SIGKILL.
   */
  traced?: boolean
}

/** How long a traced child may take to listen: tap's TypeScript loader compiles every file on start, slower than tsx. */
export const TRACED_START_MS = 90_000

/** The variables that carry tap's coverage hooks into a child (NODE_OPTIONS and tap's processinfo). */
function tapHooks(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => key === 'NODE_OPTIONS' || key.startsWith('_TAPJS_PROCESSINFO_')))
}

/** Spawns the server; kills it (SIGKILL) at teardown if the test has not stopped it. */
export function spawnServer(t: Test, env: Record<string, string>, options: SpawnOptions = {}): ServerProcess {
  const traced = options.traced === true
  const [command, ...args] = options.command ?? [process.execPath, ...(traced ? process.execArgv : ['--import', 'tsx']), 'src/energy/server.ts']
  const child = spawn(command as string, args, {
    cwd: ROOT,
    env: traced ? { ...tapHooks(), ...cleanEnv(env) } : { ...cleanEnv(env), ...NO_COVERAGE },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group === true,
  })
  const lines: string[] = []
  let stdoutRest = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (stdoutRest + chunk).split('\n')
    stdoutRest = parts.pop() ?? ''
    lines.push(...parts.filter((line) => line !== ''))
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  let gone = false
  void exited.then(() => void (gone = true))
  t.teardown(async () => {
    if (gone) return
    if (options.group === true && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL') // the group this test started: the wrapper and its server
      } catch {
        // already gone
      }
    } else {
      child.kill('SIGKILL')
    }
    await exited
  })
  const logs = (): Array<Record<string, unknown>> =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return []
      }
    })
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`)
  return { child, pid: child.pid, lines, stderr: () => stderr, exited, logs }
}

/** Waits for the 'listening' log line; returns the port it names and the server's own pid. */
export async function listening(server: ServerProcess, timeoutMs = 20_000): Promise<{ port: number; pid: number; base: string }> {
  const ended = server.exited.then(({ code, signal }) => {
    throw new Error(`server exited (${code ?? signal}) before listening:\n${server.lines.join('\n')}\n${server.stderr()}`)
  })
  ended.catch(() => {})
  const entry = await Promise.race([
    waitFor('the listening log line', async () => server.logs().find((l) => l.event === 'listening'), timeoutMs),
    ended,
  ])
  const port = Number(entry.port)
  return { port, pid: Number(entry.pid), base: `http://127.0.0.1:${port}` }
}
