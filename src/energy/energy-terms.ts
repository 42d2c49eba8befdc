/**
 * The terms of SeedCore's energy, E = pair + hyper + entropy + reg + mem, and the pieces the
 * endpoints share: a full evaluation, one evaluation that keeps W H for reuse, and a descent step.
 * Every evaluation of the pair term touches all N x N pairs over the states (O(N^2 d)).
 */

import { applyPairWeights, dot, pairTerm, sumSquares } from './linalg.js'
import type { Population } from './population.js'

export const ALPHA = 0.1 // entropy weight
export const LAMBDA = 0.01 // state regulariser weight
export const BETA = 0.05 // memory cost weight
export const STEP = 0.05 // descent step; ||W|| <= 1 keeps it stable (Lipschitz constant <= 2 + 2 lambda)

export interface EnergyTerms {
  pair: number
  hyper: number
  entropy: number
  reg: number
  mem: number
  total: number
}

/** H(p_i) = -sum_r p_r log2(p_r + 1e-9). */
export function roleEntropy(pop: Population, i: number): number {
  let h = 0
  for (let r = 0; r < 3; r++) {
    const p = pop.P[i * 3 + r] as number
    h -= p * Math.log2(p + 1e-9)
  }
  return h
}

/** cost_vq = p_compress * (1 - 1/r_eff), r_eff = max(1, 1/knob). */
export function costVq(pop: Population): number {
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
export function breakdownOf(terms: EnergyTerms, pop: Population): EnergyTerms {
  const entropy = naturalEntropyTerm(pop)
  return { ...terms, entropy, total: terms.total - terms.entropy + entropy }
}

/** The terms that do not depend on H or W: computed in O(N + K), shared by every evaluation. */
export function fixedTerms(pop: Population): { hyper: number; entropy: number; mem: number } {
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
export function energyWithWH(pop: Population, H: Float64Array, fixed: ReturnType<typeof fixedTerms>, out?: Float64Array) {
  const WH = applyPairWeights(pop.W, H, pop.agents, pop.dim, out)
  return { terms: assemble(fixed, -dot(H, 0, WH, 0, H.length), sumSquares(H)), WH }
}

/** One descent step on H in place: H -= STEP * dE/dH, with dE/dH = -2 W H + 2 lambda H. */
export function descend(H: Float64Array, WH: Float64Array): void {
  for (let i = 0; i < H.length; i++) H[i] = (H[i] as number) - STEP * (-2 * (WH[i] as number) + 2 * LAMBDA * (H[i] as number))
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
