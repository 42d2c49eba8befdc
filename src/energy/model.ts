/**
 * The SeedCore energy model (the formulas of SeedCore's energy endpoints): pure and deterministic,
 * no I/O. A Population is built once from a seed; gradient(), monitor() and calibrate() read it and
 * never mutate it, so the same (agents, seed, now) always gives the same answer.
 *
 * The cost is real: every energy evaluation touches all N x N pairs over the 128-dimensional states
 * (H H^T or W H), so an answer takes time in proportion to N^2 * d, the way SeedCore's took seconds.
 */

import { OptionError } from '../cache/errors.js'
import { applyPairWeights, clipSpectralNorm, dot, gaussian, mulberry32, pairTerm, sumSquares } from './linalg.js'

export const ALPHA = 0.1 // entropy weight
export const LAMBDA = 0.01 // state regulariser weight
export const BETA = 0.05 // memory cost weight
export const DEFAULT_DIM = 128
export const DEFAULT_HYPEREDGES = 16
const ROLES = ['E', 'S', 'O'] as const
const HEARTBEAT_TIMEOUT_S = 300 // an agent silent for longer is reported inactive (SeedCore's window)
const HEARTBEAT_SPREAD_S = 400 // heartbeat ages are spread over this, so some agents are inactive
const SUMMARY_LIMIT = 5 // gradient lists at most 5 agents, as SeedCore did
const REFINE_STEPS = 4 // gradient: descent steps behind deltaE_last (see refine())
const STEP = 0.05 // descent step; ||W|| <= 1 keeps it stable (Lipschitz constant <= 2 + 2 lambda)

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

export interface EnergyTerms {
  pair: number
  hyper: number
  entropy: number
  reg: number
  mem: number
  total: number
}

// ---------------------------------------------------------------------------------------------
// Population

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
// Energy terms

/** H(p_i) = -sum_r p_r log2(p_r + 1e-9). */
export function roleEntropy(pop: Population, i: number): number {
  let h = 0
  for (let r = 0; r < 3; r++) {
    const p = pop.P[i * 3 + r] as number
    h -= p * Math.log2(p + 1e-9)
  }
  return h
}

function roleProbs(pop: Population, i: number): RoleProbs {
  return { E: pop.P[i * 3] as number, S: pop.P[i * 3 + 1] as number, O: pop.P[i * 3 + 2] as number }
}

/** cost_vq = p_compress * (1 - 1/r_eff), r_eff = max(1, 1/knob). */
function costVq(pop: Population): number {
  const rEff = Math.max(1, 1 / pop.memory.compression_knob)
  return pop.memory.p_compress * (1 - 1 / rEff)
}

/**
 * The entropy term as SeedCore's `breakdown` computes it (energy_and_grad): natural log, each
 * agent's role probabilities clipped to [1e-8, 1] and renormalised, where `E_terms` uses log2.
 */
function naturalEntropyTerm(pop: Population): number {
  let sum = 0
  for (let i = 0; i < pop.agents; i++) {
    const q = [0, 1, 2].map((r) => Math.min(1, Math.max(1e-8, pop.P[i * 3 + r] as number)))
    const norm = q[0]! + q[1]! + q[2]! + 1e-8
    for (const value of q) sum -= (value / norm) * Math.log(value / norm)
  }
  return -ALPHA * sum
}

/** `breakdown`: the terms with SeedCore's natural-log entropy, and the total that follows from it. */
function breakdownOf(terms: EnergyTerms, pop: Population): EnergyTerms {
  const entropy = naturalEntropyTerm(pop)
  return { ...terms, entropy, total: terms.total - terms.entropy + entropy }
}

/** The terms that do not depend on H or W: computed in O(N + K), shared by every evaluation. */
function fixedTerms(pop: Population): { hyper: number; entropy: number; mem: number } {
  let hyper = 0
  for (let k = 0; k < pop.wHyper.length; k++) hyper -= (pop.wHyper[k] as number) * (pop.eSel[k] as number)
  let entropy = 0
  for (let i = 0; i < pop.agents; i++) entropy += roleEntropy(pop, i)
  return { hyper, entropy: -ALPHA * entropy, mem: BETA * costVq(pop) }
}

function assemble(fixed: ReturnType<typeof fixedTerms>, pair: number, frobeniusSq: number): EnergyTerms {
  const reg = LAMBDA * frobeniusSq
  return { pair, ...fixed, reg, total: pair + fixed.hyper + fixed.entropy + reg + fixed.mem }
}

/** A full energy evaluation (O(N^2 d) for the pair term); W defaults to the population's. */
export function energyTerms(pop: Population, W: Float64Array = pop.W): EnergyTerms {
  return assemble(fixedTerms(pop), pairTerm(W, pop.H, pop.agents, pop.dim), sumSquares(pop.H))
}

/** Energy and W H together: pair = -<H, W H> (= -sum_ij W_ij <h_i,h_j>), the product reused by callers. */
function energyWithWH(pop: Population, H: Float64Array, fixed: ReturnType<typeof fixedTerms>, out?: Float64Array) {
  const WH = applyPairWeights(pop.W, H, pop.agents, pop.dim, out)
  return { terms: assemble(fixed, -dot(H, 0, WH, 0, H.length), sumSquares(H)), WH }
}

/** One descent step on H in place: H -= STEP * dE/dH, with dE/dH = -2 W H + 2 lambda H. */
function descend(H: Float64Array, WH: Float64Array): void {
  for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) - STEP * (-2 * (WH[i] as number) + 2 * LAMBDA * (H[i] as number))
}

// ---------------------------------------------------------------------------------------------
// Agents

export function agentId(i: number): string {
  return `agent_${String(i).padStart(4, '0')}`
}

function stateNorm(pop: Population, i: number): number {
  return Math.sqrt(dot(pop.H, i * pop.dim, pop.H, i * pop.dim, pop.dim))
}

/**
 * The agent's own figures, as SeedCore's get_energy_proxy reports them: entropy_contribution is
 * the role entropy H(p_i) in bits, positive (its share of the energy is -ALPHA times it).
 */
export function energyProxy(pop: Population, i: number) {
  return {
    capability: pop.capability[i] as number,
    entropy_contribution: roleEntropy(pop, i),
    mem_util: pop.memUtil[i] as number,
    state_norm: stateNorm(pop, i),
  }
}

function isActive(pop: Population, i: number): boolean {
  return (pop.heartbeatAge[i] as number) < HEARTBEAT_TIMEOUT_S
}

export function countActive(pop: Population): number {
  let active = 0
  for (let i = 0; i < pop.agents; i++) if (isActive(pop, i)) active++
  return active
}

function mean(a: Float64Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] as number
  return a.length === 0 ? 0 : s / a.length
}

// ---------------------------------------------------------------------------------------------
// /energy/gradient

/**
 * deltaE_last: SeedCore reports the energy change of its last update. We reproduce that update:
 * REFINE_STEPS gradient-descent steps from the current state, and report the change made by the
 * last one (the first steps absorb the transient of starting from a random state). Each step needs
 * a fresh W H_k product, the O(N^2 d) cost that makes this the heaviest endpoint.
 */
function refine(pop: Population, WH: Float64Array, start: EnergyTerms, fixed: ReturnType<typeof fixedTerms>): number {
  const H = pop.H.slice()
  let cur: Float64Array = WH.slice()
  let spare: Float64Array = new Float64Array(H.length)
  let previous = start.total
  let current = start.total
  for (let step = 0; step < REFINE_STEPS; step++) {
    descend(H, cur)
    const next = energyWithWH(pop, H, fixed, spare)
    spare = cur
    cur = next.WH
    previous = current
    current = next.terms.total
  }
  return current - previous
}

function countPairs(pop: Population): number {
  const n = pop.agents
  let count = 0
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (pop.W[i * n + j] !== 0) count++
  return count
}

export function gradient(pop: Population, now: number) {
  const ts = now / 1000
  const fixed = fixedTerms(pop)
  const { terms, WH } = energyWithWH(pop, pop.H, fixed)
  const deltaE_last = refine(pop, WH, terms, fixed)
  const frobeniusH = Math.sqrt(sumSquares(pop.H))
  return {
    ts,
    E_terms: { ...terms },
    deltaE_last,
    pair_stats_count: countPairs(pop),
    hyper_stats_count: pop.wHyper.length,
    role_entropy_count: pop.agents,
    mem_stats_count: Object.keys(pop.memory).length,
    real_time_metrics: {
      active_agents: countActive(pop),
      total_agents: pop.agents,
      memory_utilization: pop.memory.bytes_used / 1024, // KB, as SeedCore reports it
      avg_mem_util: mean(pop.memUtil),
      compression_knob: pop.memory.compression_knob,
      last_energy_update: ts,
    },
    agent_summaries: Array.from({ length: Math.min(SUMMARY_LIMIT, pop.agents) }, (_, i) => ({
      agent_id: agentId(i),
      capability: pop.capability[i] as number,
      mem_util: pop.memUtil[i] as number,
      role_probs: roleProbs(pop, i),
    })),
    breakdown: breakdownOf(terms, pop),
    grad: {
      'dE/dH': 2 * Math.sqrt(sumSquares(WH)), // || -2 W H ||_F
      'dE/dP_entropy': -ALPHA,
      'dE/dE_sel': Array.from(pop.wHyper, (w) => -w),
      'dE/ds_norm': 2 * LAMBDA * frobeniusH,
      'dE/dmem': BETA,
    },
  }
}
export type GradientResponse = ReturnType<typeof gradient>

// ---------------------------------------------------------------------------------------------
// /energy/monitor

/**
 * energy_slope: the measured energy change per unit step along the descent direction, a secant
 * from the current state to one step of gradient descent (so it includes curvature that the
 * analytic -||dE/dH||^2 would miss); costs a second W H product.
 */
function energySlope(pop: Population, current: EnergyTerms, WH: Float64Array, fixed: ReturnType<typeof fixedTerms>): number {
  const H = pop.H.slice()
  descend(H, WH)
  return (energyWithWH(pop, H, fixed).terms.total - current.total) / STEP
}

function agentDetail(pop: Population, i: number, nowSec: number) {
  return {
    agent_id: agentId(i),
    capability: pop.capability[i] as number,
    mem_util: pop.memUtil[i] as number,
    role_probs: roleProbs(pop, i),
    tasks_processed: pop.tasksProcessed[i] as number,
    success_rate: pop.successRate[i] as number,
    energy_proxy: energyProxy(pop, i),
    last_heartbeat: nowSec - (pop.heartbeatAge[i] as number),
    is_active: isActive(pop, i),
  }
}

export function monitor(pop: Population, now: number) {
  const timestamp = now / 1000
  const fixed = fixedTerms(pop)
  const { terms, WH } = energyWithWH(pop, pop.H, fixed)
  const energy_slope = energySlope(pop, terms, WH, fixed)
  return {
    timestamp,
    energy_terms: { ...terms },
    memory_metrics: {
      cost_vq: costVq(pop),
      bytes_used_kb: pop.memory.bytes_used / 1024,
      hit_count: pop.memory.hit_count,
      compression_ratio: pop.memory.compression_knob, // SeedCore reports the knob under this name
    },
    agent_metrics: {
      total_agents: pop.agents,
      active_agents: countActive(pop),
      avg_capability: mean(pop.capability),
      avg_mem_util: mean(pop.memUtil),
      agent_details: Array.from({ length: pop.agents }, (_, i) => agentDetail(pop, i, timestamp)),
    },
    system_metrics: {
      compression_knob: pop.memory.compression_knob,
      energy_slope,
      // SeedCore's clients read these two; here the computation runs in this service's worker
      // threads (no Ray) and the population is built in process (no tier-0 manager): an answer
      // that was computed had both.
      ray_initialized: true,
      tier0_manager_available: true,
      gradient_norm: 2 * Math.sqrt(sumSquares(WH)),
      pair_spectral_norm: pop.pairNorm,
      avg_role_entropy: -fixed.entropy / ALPHA / pop.agents,
    },
  }
}
export type MonitorResponse = ReturnType<typeof monitor>

