/**
 * A pool of worker threads for the energy computations (piscina): the event loop stays free while
 * an answer takes seconds, and a computation that runs past its deadline is abandoned by
 * terminating its worker.
 */
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { OptionError } from '../cache/errors.js'
import type { CalibrateResponse } from './calibrate.js'
import { ComputeCancelledError, ComputeTimeoutError, PoolBusyError, PoolClosedError, ServiceError } from './errors.js'
import type { GradientResponse, MonitorResponse } from './model.js'
import type { Endpoint, EnergyTask, WorkerOutput } from './worker.js'

export type { Endpoint } from './worker.js'

/**
 * Default ENERGY_AGENTS: the cost of every endpoint grows with agents^2 (x 128 dimensions). Measured
 * on the 2-core build machine, Node 20, seed 42, one computation at a time, population already built
 * (building it adds about 0.2-0.3 s to a worker's first request, starting a tsx worker about 0.7 s):
 *   1500 agents, idle machine, wall clock:   gradient 2.4 s   monitor 0.9 s   calibrate 1.3 s
 *   2000 agents, CPU time of the thread:     gradient 4.7-4.9 s   monitor 1.8-1.9 s   calibrate 2.3-2.8 s
 *     (5 of 10 calibration tasks succeed; each success costs one full energy evaluation)
 *   2000 agents, wall clock with the machine shared (load average 5-9): gradient 5.5-10 s,
 *     monitor 2-3.6 s, calibrate 3-5.4 s
 * so at 2000 an uncached gradient takes about 4-5 s and monitor and calibrate about 2-3 s.
 */
export const DEFAULT_AGENTS = 2000

export interface EnergyPoolOptions {
  /** Population size; the cost of every endpoint grows with agents^2. Default DEFAULT_AGENTS. */
  agents?: number
  /** Population seed: the same seed gives the same answers. */
  seed: number
  /** Worker threads; default: the machine's available parallelism. */
  threads?: number
  /** Hard deadline per computation, queueing included; past it the worker is terminated. */
  timeoutMs: number
  /** Computations allowed to wait for a worker; past it compute() rejects with PoolBusyError at once. Default 4 per thread. */
  maxQueue?: number
}

export interface EnergyResults {
  gradient: GradientResponse
  monitor: MonitorResponse
  calibrate: CalibrateResponse
}

export interface Computation<R> {
  result: R
  /** Wall-clock milliseconds from compute() to the answer, queueing included. */
  ms: number
  /** The worker thread that computed it. */
  threadId: number
}

export interface ComputeOptions {
  /** Overrides the pool's deadline for this computation. */
  timeoutMs?: number
  /**
   * Aborted when nobody waits for the answer any more: a computation still in the queue is dropped
   * (ComputeCancelledError); one already running finishes, since stopping it means killing its
   * worker and the population that worker built.
   */
  signal?: AbortSignal
}

/** What the pool is doing, and what it did since it started. */
export interface PoolLoad {
  running: number
  queued: number
  maxQueue: number
  /** Computations a worker took. */
  started: number
  /** Dropped from the queue because nobody waited for them any more. */
  cancelled: number
  /** Refused at once because the queue was full. */
  refused: number
  /** A guess at how long the work in hand takes to finish, in ms: for Retry-After. */
  drainMs: number
}

export interface EnergyPool {
  /** Runs one endpoint's computation in a worker; rejects with ComputeTimeoutError past the deadline. */
  compute<E extends Endpoint>(endpoint: E, now: number, options?: ComputeOptions): Promise<Computation<EnergyResults[E]>>
  /** Ends the workers: queued computations are rejected, running ones end within their deadline. */
  close(): Promise<void>
  load(): PoolLoad
}

/** Under tsx this module is pool.ts next to worker.ts; after tsc it is pool.js next to worker.js. */
function workerFile(): URL {
  const own = import.meta.url
  const order = own.endsWith('.ts') ? ['worker.ts', 'worker.js'] : ['worker.js', 'worker.ts']
  for (const name of order) {
    const url = new URL(`./${name}`, own)
    if (existsSync(fileURLToPath(url))) return url
  }
  throw new ServiceError('E_WORKER_MISSING', `energy worker module not found next to ${fileURLToPath(own)}`)
}

const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader'])

/**
 * The TypeScript worker (worker.ts) runs under tsx, the project's TypeScript runtime. Worker threads
 * inherit process.execArgv (tsx's `--import` loader under `tsx` or `node --import tsx`), but the
 * main process may carry another loader (tap's ts-node, which loads the TypeScript compiler into
 * every worker: seconds per thread) or none (tsx registered through its API). So for a .ts worker
 * the inherited loader flags are replaced by tsx's alone; other flags are kept. Checked on Node 20:
 * tsx installs its ESM hooks on the main thread only, but its require() hook in a worker too, and
 * piscina loads a task file with require() first, so worker.ts and model.ts load either way.
 * The compiled worker (worker.js) inherits execArgv untouched.
 */
function workerExecArgv(file: URL): string[] | undefined {
  if (!file.pathname.endsWith('.ts')) return undefined
  const kept: string[] = []
  const args = process.execArgv
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const flag = arg.split('=', 1)[0] as string
    if (!LOADER_FLAGS.has(flag)) kept.push(arg)
    else if (!arg.includes('=')) i++ // skip the flag's value too
  }
  return [...kept, '--import', import.meta.resolve('tsx')]
}

function validate(options: EnergyPoolOptions): Required<EnergyPoolOptions> {
  const { agents = DEFAULT_AGENTS, seed, threads = availableParallelism(), timeoutMs } = options
  const maxQueue = options.maxQueue ?? 4 * threads
  if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new OptionError('maxQueue', 'an integer >= 0', maxQueue)
  if (!Number.isInteger(agents) || agents < 1) throw new OptionError('agents', 'a positive integer', agents)
  if (!Number.isFinite(seed)) throw new OptionError('seed', 'a finite number', seed)
  if (!Number.isInteger(threads) || threads < 1) throw new OptionError('threads', 'a positive integer', threads)
  if (!(timeoutMs > 0)) throw new OptionError('timeoutMs', 'a positive number', timeoutMs)
  return { agents, seed, threads, timeoutMs, maxQueue }
}

export function createEnergyPool(options: EnergyPoolOptions): EnergyPool {
  const { agents, seed, threads, timeoutMs, maxQueue } = validate(options)
  const file = workerFile()
  const execArgv = workerExecArgv(file)
  const piscina = new Piscina<EnergyTask, WorkerOutput>({
    filename: file.href,
    minThreads: threads, // workers stay up: each keeps the population it built
    maxThreads: threads,
    // Only a backstop: our own count below refuses first (it also counts tasks handed to a worker
    // that has not begun them), and says so with a PoolBusyError rather than piscina's message.
    maxQueue: Math.max(1, maxQueue),
    closeTimeout: timeoutMs, // a running computation never outlives its deadline anyway
    ...(execArgv ? { execArgv } : {}),
  })
  // piscina reports a close that timed out as an 'error' event; without a listener it would throw.
  piscina.on('error', () => {})
  let closed = false
  /** The started flag of every computation in hand. */
  const inHand = new Set<Int32Array>()
  const counts = { finished: 0, cancelled: 0, refused: 0 }
  let typicalMs = 0

  const load = (): PoolLoad => {
    let running = 0
    for (const flag of inHand) if (Atomics.load(flag, 0) === 1) running++
    const queued = inHand.size - running
    const drainMs = Math.ceil((queued + running) / threads) * (typicalMs || timeoutMs / 10)
    const { finished, cancelled, refused } = counts
    return { running, queued, maxQueue, started: finished + running, cancelled, refused, drainMs }
  }

  return {
    async compute<E extends Endpoint>(endpoint: E, now: number, options: ComputeOptions = {}): Promise<Computation<EnergyResults[E]>> {
      if (closed) throw new PoolClosedError() // piscina would quietly start new workers
      if (options.signal?.aborted) {
        counts.cancelled++
        throw new ComputeCancelledError(endpoint) // nobody waits: not even worth a place in the queue
      }
      // Every worker busy and maxQueue waiting: a newcomer would only wait behind them.
      if (inHand.size >= threads + maxQueue) {
        counts.refused++
        throw new PoolBusyError(endpoint, load().drainMs)
      }
      const limit = options.timeoutMs ?? timeoutMs
      const started = performance.now()
      const flag = new Int32Array(new SharedArrayBuffer(4))
      const ran = (): boolean => Atomics.load(flag, 0) === 1
      const deadline = new AbortController()
      const timer = setTimeout(() => deadline.abort(), limit)
      const stop = new AbortController()
      const onDeadline = (): void => stop.abort()
      const onGone = (): void => {
        if (!ran()) stop.abort()
      }
      deadline.signal.addEventListener('abort', onDeadline)
      options.signal?.addEventListener('abort', onGone)
      inHand.add(flag)
      try {
        const out = await piscina.run({ endpoint, agents, seed, now, started: flag }, { signal: stop.signal })
        const ms = performance.now() - started
        typicalMs = typicalMs === 0 ? ms : 0.7 * typicalMs + 0.3 * ms
        // the worker answers with the endpoint's shape: the map from endpoint to type holds by construction
        return { result: out.result as EnergyResults[E], ms, threadId: out.threadId }
      } catch (error) {
        if (deadline.signal.aborted) throw new ComputeTimeoutError(endpoint, limit, !ran(), { cause: error })
        if (stop.signal.aborted) {
          counts.cancelled++
          throw new ComputeCancelledError(endpoint, { cause: error })
        }
        throw error
      } finally {
        if (ran()) counts.finished++
        inHand.delete(flag)
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onGone)
      }
    },
    async close() {
      closed = true
      await piscina.close({ force: true })
    },
    load,
  }
}
