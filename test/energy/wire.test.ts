/**
 * The contract with SeedCore's clients: each endpoint of the running service answers with
 * SeedCore's names, types, units, signs and meaning (../shared/reference/seedcore-wire.md; the
 * rows marked "yes" there each have an assertion here that the earlier answers failed). Extra
 * fields are allowed; where SeedCore's own value came from a bug, ours stays and the README says so.
 */
import t from 'tap'
import { createPopulation } from '../../src/energy/population.js'
import { errorBody, CALIBRATION_FAILED } from '../../src/energy/error-body.js'
import { request, serveInProcess, shapeProblems, SHAPES } from './support.js'

const AGENTS = 48
const SEED = 42
const close = (a: number, b: number, tolerance = 1e-9): boolean => Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b))

t.test('the three endpoints against SeedCore\'s wire format', async (t) => {
  const { base } = await serveInProcess(t, { ENERGY_AGENTS: String(AGENTS), ENERGY_SEED: String(SEED) })
  const pop = createPopulation({ agents: AGENTS, seed: SEED })

  const gradient = (await request(base, '/energy/gradient')).json
  t.same(shapeProblems(gradient, SHAPES.gradient), [], 'gradient: every SeedCore field with its type')
  t.equal(gradient.real_time_metrics.memory_utilization, pop.memory.bytes_used / 1024, 'memory_utilization is bytes_used / 1024 (KB)')
  t.ok(gradient.real_time_metrics.memory_utilization > 1, 'a KB figure, not a 0-1 fraction')
  t.ok(close(gradient.breakdown.entropy / gradient.E_terms.entropy, Math.LN2, 1e-6), 'breakdown.entropy is in nats, E_terms.entropy in bits')
  const { pair, hyper, entropy, reg, mem, total } = gradient.breakdown
  t.ok(close(pair + hyper + entropy + reg + mem, total), 'breakdown.total is the sum of its own terms')

  const monitorAnswer = await request(base, '/energy/monitor')
  const monitor = monitorAnswer.json
  t.same(shapeProblems(monitor, SHAPES.monitor), [], 'monitor: every SeedCore field with its type')
  t.equal(monitor.memory_metrics.compression_ratio, 0.5, 'compression_ratio is the compression knob')
  t.equal(monitor.memory_metrics.compression_ratio, monitor.system_metrics.compression_knob)
  t.equal(monitor.memory_metrics.bytes_used_kb, gradient.real_time_metrics.memory_utilization, 'both report KB of one memory')
  const details = monitor.agent_metrics.agent_details
  t.equal(details.length, AGENTS, 'agent_details lists every agent')
  t.same(details.map((d: { agent_id: string }) => d.agent_id), Array.from({ length: AGENTS }, (_, i) => `agent_${String(i).padStart(4, '0')}`))
  for (const d of details) {
    const p = [d.role_probs.E, d.role_probs.S, d.role_probs.O] as number[]
    const bits = -p.reduce((s, x) => s + x * Math.log2(x + 1e-9), 0)
    if (!close(d.energy_proxy.entropy_contribution, bits)) t.fail(`${d.agent_id}: entropy_contribution ${d.energy_proxy.entropy_contribution} is not H(p) = ${bits} bits`)
    if (!(d.energy_proxy.entropy_contribution > 0 && d.energy_proxy.entropy_contribution <= Math.log2(3) + 1e-9)) t.fail(`${d.agent_id}: entropy_contribution out of (0, log2 3]`)
    if (d.is_active !== d.last_heartbeat > monitor.timestamp - 300) t.fail(`${d.agent_id}: is_active follows a 300 s heartbeat window`)
  }
  t.equal(monitor.system_metrics.ray_initialized, true)
  t.equal(monitor.system_metrics.tier0_manager_available, true)
  t.match(monitor.router_metrics, { fast_hits: 0, p_fast: 0, p_esc: 1 })
  t.equal(monitor.router_metrics.escalations, 1, 'the gradient miss before it was an escalation (a computation)')

  const calibrate = (await request(base, '/energy/calibrate')).json
  t.same(shapeProblems(calibrate, SHAPES.calibrate), [], 'calibrate: every SeedCore field with its type')
  const metrics = calibrate.calibration_metrics
  t.equal(metrics.total_tasks, calibrate.task_results.length, 'total_tasks counts the listed tasks')
  t.equal(metrics.successful_tasks, calibrate.task_results.length)
  for (const r of calibrate.task_results) {
    t.match(r.task_id, /^calibration_task_[0-9]$/, 'task ids count from 0 as SeedCore\'s do')
    t.equal(r.success, true, 'only successful tasks are listed')
    t.ok(r.energy >= 0.05 && r.energy <= 0.09, `energy is a fresh ledger's 0.1 * similarity (${r.energy})`)
  }
  t.equal(calibrate.agent_summary.agent_ids.length, AGENTS, 'agent_ids names every agent')

})

t.test('error answers carry SeedCore\'s fields, the nested calibration error included', async (t) => {
  const calibrate = errorBody('calibrate', 1, 'energy calibrate computation failed', AGENTS) as Record<string, any>
  t.equal(calibrate.error, 'energy calibrate computation failed')
  t.equal(calibrate.calibration_metrics.error, CALIBRATION_FAILED, 'calibration_metrics.error as SeedCore sent it')
  t.same(shapeProblems(calibrate, SHAPES.calibrate), [])
  const monitor = errorBody('monitor', 1, 'x', AGENTS) as Record<string, any>
  t.same(shapeProblems(monitor, SHAPES.monitor), [], 'the monitor error shape has router_metrics and the system flags')
  t.equal(monitor.system_metrics.ray_initialized, false, 'nothing was computed')
  t.same(shapeProblems(errorBody('gradient', 1, 'x', AGENTS), SHAPES.gradient), [])
})
