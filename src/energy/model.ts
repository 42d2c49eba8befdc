/**
 * The SeedCore energy model (the formulas of SeedCore's energy endpoints): pure and deterministic,
 * no I/O. A Population (population.ts) is built once from a seed; gradient() and monitor() here,
 * and calibrate() in calibrate.ts, read it and never mutate it, so the same (agents, seed, now)
 * always gives the same answer.
 *
 * The cost is real: every energy evaluation touches all N x N pairs over the 128-dimensional states
 * (H H^T or W H), so an answer takes time in proportion to N^2 * d, the way SeedCore's took seconds.
 */

import { ALPHA, BETA, LAMBDA, STEP, breakdownOf, costVq, descend, energyProxy, energyWithWH, fixedTerms } from './energy-terms.js'
import type { EnergyTerms } from './energy-terms.js'
import { mean, sumSquares } from './linalg.js'
import { agentId, countActive, isActive, roleProbs } from './population.js'
import type { Population } from './population.js'

const SUMMARY_LIMIT = 5 // gradient lists at most 5 agents, as SeedCore did
const REFINE_STEPS = 4 // gradient: descent steps behind deltaE_last (see refine())

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

