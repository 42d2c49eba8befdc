/**
 * The synthetic agent population the energy endpoints read: built once from a seed, never mutated
 * after, so the same (agents, seed) always gives the same states, roles, weights and agent facts.
 */

import { OptionError } from '../cache/errors.js'
import { clipSpectralNorm, gaussian, mulberry32 } from './linalg.js'

export const DEFAULT_DIM = 128
export const DEFAULT_HYPEREDGES = 16
const ROLES = ['E', 'S', 'O'] as const
const HEARTBEAT_TIMEOUT_S = 300 // an agent silent for longer is reported inactive (SeedCore's window)
const HEARTBEAT_SPREAD_S = 400 // heartbeat ages are spread over this, so some agents are inactive

export type Role = (typeof ROLES)[number]
export type RoleProbs = Record<Role, number>

export interface PopulationOptions {
  agents: number
  dim?: number
  seed: number
  hyperedges?: number
}

export interface MemoryStats {
  bytes_used: number
  hit_count: number
  compression_knob: number
  p_compress: number
}

export interface Population {
  readonly agents: number
  readonly dim: number
  readonly seed: number
  /** Agent states, agents x dim, row-major. */
  readonly H: Float64Array
  /** Role probabilities, agents x 3 in the order E, S, O. */
  readonly P: Float64Array
  /** Pair weights, agents x agents, symmetric, spectral norm <= 1. */
  readonly W: Float64Array
  /** Spectral norm of W after clipping, and its dominant eigenvector (warm start for re-clipping). */
  readonly pairNorm: number
  readonly pairVector: Float64Array
  readonly wHyper: Float64Array
  readonly eSel: Float64Array
  readonly memory: Readonly<MemoryStats>
  readonly capability: Float64Array
  readonly memUtil: Float64Array
  readonly tasksProcessed: Int32Array
  readonly successRate: Float64Array
  /** Seconds between an agent's last heartbeat and `now`. */
  readonly heartbeatAge: Float64Array
}

export function createPopulation(options: PopulationOptions): Population {
  const { agents: n, dim: d = DEFAULT_DIM, seed, hyperedges = DEFAULT_HYPEREDGES } = options
  for (const [name, value] of [['agents', n], ['dim', d], ['hyperedges', hyperedges]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new OptionError(name, 'a positive integer', value)
  }
  if (!Number.isFinite(seed)) throw new OptionError('seed', 'a finite number', seed)
  const rng = mulberry32(seed)
  const H = new Float64Array(n * d)
  const scale = 1 / Math.sqrt(d) // rows of roughly unit norm
  for (let i = 0; i < H.length; i++) H[i] = gaussian(rng) * scale
  const P = new Float64Array(n * 3)
  for (let i = 0; i < n; i++) softmaxInto(P, i * 3, [gaussian(rng), gaussian(rng), gaussian(rng)])
  // Non-negative affinities: a clear Perron eigenvalue, so power iteration converges in few steps.
  const W = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) W[i * n + j] = W[j * n + i] = rng()
  }
  const { norm: pairNorm, vector: pairVector } = clipSpectralNorm(W, n)
  const wHyper = Float64Array.from({ length: hyperedges }, () => rng())
  const eSel = Float64Array.from({ length: hyperedges }, () => rng())
  const memory = {
    bytes_used: Math.floor(n * d * 8 * (0.5 + rng())),
    hit_count: Math.floor(rng() * 10_000),
    compression_knob: 0.5,
    p_compress: rng(),
  }
  const capability = Float64Array.from({ length: n }, () => 0.3 + 0.7 * rng())
  const memUtil = Float64Array.from({ length: n }, () => rng())
  const tasksProcessed = Int32Array.from({ length: n }, () => Math.floor(rng() * 200))
  const successRate = Float64Array.from({ length: n }, () => 0.5 + 0.5 * rng())
  const heartbeatAge = Float64Array.from({ length: n }, () => rng() * HEARTBEAT_SPREAD_S)
  return {
    agents: n, dim: d, seed, H, P, W, pairNorm, pairVector, wHyper, eSel, memory,
    capability, memUtil, tasksProcessed, successRate, heartbeatAge,
  }
}

function softmaxInto(out: Float64Array, offset: number, logits: number[]): void {
  const max = Math.max(...logits)
  const exps = logits.map((x) => Math.exp(x - max))
  const sum = exps.reduce((a, b) => a + b, 0)
  exps.forEach((e, r) => { out[offset + r] = e / sum })
}

// ---------------------------------------------------------------------------------------------
// Agents

export function agentId(i: number): string {
  return `agent_${String(i).padStart(4, '0')}`
}

export function isActive(pop: Population, i: number): boolean {
  return (pop.heartbeatAge[i] as number) < HEARTBEAT_TIMEOUT_S
}

export function countActive(pop: Population): number {
  let active = 0
  for (let i = 0; i < pop.agents; i++) if (isActive(pop, i)) active++
  return active
}

export function roleProbs(pop: Population, i: number): RoleProbs {
  return { E: pop.P[i * 3] as number, S: pop.P[i * 3 + 1] as number, O: pop.P[i * 3 + 2] as number }
}
