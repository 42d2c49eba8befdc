/**
 * SeedCore's error answers: the endpoint's usual shape, zeroed (every number finite), plus
 * `error`. SeedCore sent them with HTTP 200; here they keep their 5xx status (HTTP semantics, and
 * the cache caches errors for errorTtl only because of it). The calibrate answer also carries
 * SeedCore's nested `calibration_metrics.error`.
 */
import type { CalibrateResponse } from './calibrate.js'
import type { EnergyTerms } from './energy-terms.js'
import type { GradientResponse, MonitorResponse } from './model.js'
import type { Endpoint } from './pool.js'
import type { RouterMetrics } from './router-metrics.js'

const ZERO_TERMS: EnergyTerms = { pair: 0, hyper: 0, entropy: 0, reg: 0, mem: 0, total: 0 }
const ZERO_ROUTER: RouterMetrics = { p_fast: 0, p_esc: 0, latency_ms_p50: 0, latency_ms_p95: 0, fast_hits: 0, escalations: 0 }
/** SeedCore's message inside calibration_metrics, word for word. */
export const CALIBRATION_FAILED = 'Calibration failed'

type WithError<T> = T & { error: string }
type MonitorError = WithError<MonitorResponse> & { router_metrics: RouterMetrics }
type CalibrateError = WithError<Omit<CalibrateResponse, 'calibration_metrics'>> & {
  calibration_metrics: CalibrateResponse['calibration_metrics'] & { error: string }
}

export function errorBody(endpoint: Endpoint, ts: number, error: string, agents: number): WithError<GradientResponse> | MonitorError | CalibrateError {
  switch (endpoint) {
    case 'gradient':
      return {
        ts,
        E_terms: { ...ZERO_TERMS },
        deltaE_last: 0,
        pair_stats_count: 0,
        hyper_stats_count: 0,
        role_entropy_count: 0,
        mem_stats_count: 0,
        real_time_metrics: { active_agents: 0, total_agents: agents, memory_utilization: 0, avg_mem_util: 0, compression_knob: 0, last_energy_update: ts },
        agent_summaries: [],
        breakdown: { ...ZERO_TERMS },
        grad: { 'dE/dH': 0, 'dE/dP_entropy': 0, 'dE/dE_sel': [], 'dE/ds_norm': 0, 'dE/dmem': 0 },
        error,
      }
    case 'monitor':
      return {
        timestamp: ts,
        energy_terms: { ...ZERO_TERMS },
        memory_metrics: { cost_vq: 0, bytes_used_kb: 0, hit_count: 0, compression_ratio: 0 },
        agent_metrics: { total_agents: agents, active_agents: 0, avg_capability: 0, avg_mem_util: 0, agent_details: [] },
        system_metrics: {
          compression_knob: 0, energy_slope: 0, ray_initialized: false, tier0_manager_available: false,
          gradient_norm: 0, pair_spectral_norm: 0, avg_role_entropy: 0,
        },
        router_metrics: { ...ZERO_ROUTER },
        error,
      }
    case 'calibrate':
      return {
        timestamp: ts,
        calibration_metrics: {
          total_tasks: 0,
          successful_tasks: 0,
          final_energy: 0,
          energy_trend: 0,
          energy_range: { min: 0, max: 0 },
          trend_direction: 'unknown',
          calibration_quality: 'insufficient_data',
          error: CALIBRATION_FAILED,
        },
        energy_history: [],
        task_results: [],
        agent_summary: { total_agents: agents, active_agents: 0, agent_ids: [] },
        error,
      }
  }
}
