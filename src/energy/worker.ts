/**
 * Piscina worker: runs one energy computation on its own thread. Building a population (the N x N
 * pair weights and their power iteration) is costly too, so each worker keeps the populations it
 * built, keyed by agents and seed.
 */
import { threadId } from 'node:worker_threads'
import { OptionError } from '../cache/errors.js'
import { calibrate, type CalibrateResponse } from './calibrate.js'
import { gradient, monitor } from './model.js'
import type { GradientResponse, MonitorResponse } from './model.js'
import { createPopulation } from './population.js'
import type { Population } from './population.js'

export type Endpoint = 'gradient' | 'monitor' | 'calibrate'

export interface EnergyTask {
  endpoint: Endpoint
  agents: number
  seed: number
  /** Milliseconds since the epoch, as Date.now(); the model reports seconds. */
  now: number
  /**
   * One Int32 on a SharedArrayBuffer, set to 1 when a worker takes the task: the main thread can
   * then tell a computation that waited in the queue from one that ran (pool.ts).
   */
  started?: Int32Array
}

export type EnergyResult = GradientResponse | MonitorResponse | CalibrateResponse

export interface WorkerOutput {
  result: EnergyResult
  /** The worker thread that did the work (0 would mean the main thread). */
  threadId: number
}

// Each population of N agents holds an N x N matrix (8 N^2 bytes): keep only the latest two.
const CACHE_LIMIT = 2
const populations = new Map<string, Population>()

function populationFor(agents: number, seed: number): Population {
  const key = `${agents}:${seed}`
  let pop = populations.get(key)
  if (pop) {
    populations.delete(key) // re-insert: Map order is the recency order
  } else {
    pop = createPopulation({ agents, seed })
  }
  populations.set(key, pop)
  for (const oldest of populations.keys()) {
    if (populations.size <= CACHE_LIMIT) break
    populations.delete(oldest)
  }
  return pop
}

export default function run({ endpoint, agents, seed, now, started }: EnergyTask): WorkerOutput {
  if (started) Atomics.store(started, 0, 1)
  const pop = populationFor(agents, seed)
  switch (endpoint) {
    case 'gradient':
      return { result: gradient(pop, now), threadId }
    case 'monitor':
      return { result: monitor(pop, now), threadId }
    case 'calibrate':
      return { result: calibrate(pop, now, seed), threadId }
    default:
      throw new OptionError('endpoint', 'gradient, monitor or calibrate', endpoint satisfies never)
  }
}
