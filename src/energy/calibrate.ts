/**
 * /energy/calibrate: ten synthetic tasks routed by energy proxy, each success reinforcing pair
 * weights. The answer reads as SeedCore's does: only successful tasks are listed (and counted in
 * total_tasks), and each task's `energy` is the fresh per-task ledger SeedCore recorded, the pair
 * term 0.1 * similarity (0.05-0.09), where the similarity here is the chosen agent's fit for the
 * task's role rather than a random draw. The whole-system energy after each reinforcement, the
 * real computation behind this endpoint, is reported beside it as `system_energy`.
 */
import { mulberry32, clipSpectralNorm } from './linalg.js'
import { ALPHA, LAMBDA, BETA, energyTerms, energyProxy } from './energy-terms.js'
import { agentId, countActive } from './population.js'
import type { Population } from './population.js'


const TASK_TYPES = ['optimization', 'exploration', 'analysis'] as const
const TASK_ROLE: Record<(typeof TASK_TYPES)[number], number> = { exploration: 0, optimization: 1, analysis: 2 } // E, S, O
const CALIBRATION_TASKS = 10
/** SeedCore's on_pair_success on a fresh ledger: w = 0.9 * 0 + 0.1 * success. */
const LEDGER_PAIR_WEIGHT = 0.1

/** Lower is better: the agent's energy share, minus capability weighted by fit for the task's role,
 *  plus a load penalty so one agent does not take every task. */
function routeTask(pop: Population, role: number, load: Int32Array): number {
  let best = 0
  let bestScore = Infinity
  for (let i = 0; i < pop.agents; i++) {
    const proxy = energyProxy(pop, i)
    const fit = 0.5 + (pop.P[i * 3 + role] as number)
    const score = -ALPHA * proxy.entropy_contribution + BETA * proxy.mem_util + LAMBDA * proxy.state_norm ** 2
      - proxy.capability * fit + 0.1 * (load[i] as number)
    if (score < bestScore) { bestScore = score; best = i }
  }
  return best
}

/** A success strengthens the agent's pair weights in proportion to the task's complexity
 *  (row and column scaled together, so W stays symmetric). */
function reinforce(W: Float64Array, n: number, agent: number, complexity: number): void {
  const f = 1 + 0.5 * complexity
  for (let j = 0; j < n; j++) {
    W[agent * n + j] = (W[agent * n + j] as number) * f
    W[j * n + agent] = (W[j * n + agent] as number) * f
  }
}

export function calibrate(pop: Population, now: number, seed: number) {
  const timestamp = now / 1000
  const rng = mulberry32(seed)
  const n = pop.agents
  const W = pop.W.slice() // the population stays untouched
  let vector = pop.pairVector
  const load = new Int32Array(n)
  const energy_history: { task_num: number; energy: number; timestamp: number; system_energy: number }[] = []
  const task_results: { task_id: string; agent_id: string; success: boolean; energy: number; system_energy: number }[] = []
  for (let t = 0; t < CALIBRATION_TASKS; t++) {
    const type = TASK_TYPES[Math.floor(rng() * TASK_TYPES.length)] ?? 'analysis'
    const role = TASK_ROLE[type]
    const complexity = 0.1 + 0.8 * rng()
    const agent = routeTask(pop, role, load)
    load[agent] = (load[agent] as number) + 1
    if (!(rng() < (pop.capability[agent] as number) * (1 - complexity))) continue
    reinforce(W, n, agent, complexity)
    vector = clipSpectralNorm(W, n, vector).vector // warm start: W moved a little
    const system_energy = energyTerms(pop, W).total
    const similarity = 0.5 + 0.4 * (pop.P[agent * 3 + role] as number) // in [0.5, 0.9], as SeedCore's draw
    const energy = LEDGER_PAIR_WEIGHT * similarity
    energy_history.push({ task_num: t + 1, energy, timestamp, system_energy })
    task_results.push({ task_id: `calibration_task_${t}`, agent_id: agentId(agent), success: true, energy, system_energy })
  }
  return {
    timestamp,
    calibration_metrics: calibrationMetrics(energy_history),
    energy_history,
    task_results,
    agent_summary: {
      total_agents: n,
      active_agents: countActive(pop),
      agent_ids: Array.from({ length: n }, (_, i) => agentId(i)),
    },
  }
}
export type CalibrateResponse = ReturnType<typeof calibrate>

/** SeedCore's calibration_metrics: over the successful tasks only; zeros when there were none. */
function calibrationMetrics(history: readonly { energy: number }[]) {
  const energies = history.map((h) => h.energy)
  const first = energies[0]
  const last = energies[energies.length - 1]
  if (first === undefined || last === undefined) {
    return {
      total_tasks: 0, successful_tasks: 0, final_energy: 0, energy_trend: 0,
      energy_range: { min: 0, max: 0 }, trend_direction: 'unknown', calibration_quality: 'insufficient_data',
    }
  }
  const trend = last - first
  return {
    total_tasks: energies.length,
    successful_tasks: energies.length,
    final_energy: last,
    energy_trend: trend,
    energy_range: { min: Math.min(...energies), max: Math.max(...energies) },
    trend_direction: trend < 0 ? 'decreasing' : 'increasing',
    calibration_quality: trend < 0 ? 'good' : 'needs_adjustment',
  }
}
