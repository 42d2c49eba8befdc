import t from 'tap'
import fc from 'fast-check'
import { ALPHA, BETA, LAMBDA, energyTerms } from '../../src/energy/energy-terms.js'
import { gradient, monitor } from '../../src/energy/model.js'
import { createPopulation } from '../../src/energy/population.js'
import { calibrate } from '../../src/energy/calibrate.js'
import { clipSpectralNorm } from '../../src/energy/linalg.js'
import type { Population } from '../../src/energy/population.js'

const NOW = 1_700_000_000_000

// --- independent helpers: plain number[][] matrices, written separately from the model's loops ---

type Matrix = number[][]
const matmul = (a: Matrix, b: Matrix): Matrix =>
  a.map((row) => (b[0] ?? []).map((_, j) => row.reduce((s, x, k) => s + x * (b[k]?.[j] ?? NaN), 0)))
const transpose = (a: Matrix): Matrix => (a[0] ?? []).map((_, j) => a.map((row) => row[j] ?? NaN))
const frobenius = (a: Matrix): number => Math.sqrt(a.flat().reduce((s, x) => s + x * x, 0))
const toMatrix = (a: Float64Array, rows: number, cols: number): Matrix =>
  Array.from({ length: rows }, (_, i) => Array.from(a.subarray(i * cols, (i + 1) * cols)))

/** Every eigenvalue of a symmetric matrix by cyclic Jacobi rotations (no power iteration). */
function jacobiEigenvalues(input: Matrix): number[] {
  const a = input.map((row) => row.slice())
  const n = a.length
  const at = (i: number, j: number): number => a[i]?.[j] ?? NaN
  const set = (i: number, j: number, v: number): void => { (a[i] as number[])[j] = v }
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += at(i, j) ** 2
    if (off < 1e-22) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(at(p, q)) < 1e-300) continue
        const theta = (at(q, q) - at(p, p)) / (2 * at(p, q))
        const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(tt * tt + 1)
        const s = tt * c
        for (let k = 0; k < n; k++) { // columns p, q
          const akp = at(k, p), akq = at(k, q)
          set(k, p, c * akp - s * akq); set(k, q, s * akp + c * akq)
        }
        for (let k = 0; k < n; k++) { // rows p, q
          const apk = at(p, k), aqk = at(q, k)
          set(p, k, c * apk - s * aqk); set(q, k, s * apk + c * aqk)
        }
      }
    }
  }
  return a.map((row, i) => row[i] ?? NaN)
}

/** Walks a result: every number finite, no null or undefined anywhere. */
function allFinite(value: unknown, path = '$'): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path} = ${value}`]
  if (value === null || value === undefined) return [`${path} is ${value}`]
  if (Array.isArray(value)) return value.flatMap((v, i) => allFinite(v, `${path}[${i}]`))
  if (typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => allFinite(v, `${path}.${k}`))
  return []
}

/** A shape: 'number' | 'string' | 'boolean', a nested object, or [elementShape] for an array. */
type Shape = 'number' | 'string' | 'boolean' | Shape[] | { [key: string]: Shape }
function shapeErrors(value: unknown, shape: Shape, path = '$'): string[] {
  if (typeof shape === 'string') return typeof value === shape ? [] : [`${path}: expected ${shape}, got ${typeof value}`]
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected an array`]
    return value.flatMap((v, i) => shapeErrors(v, shape[0] ?? 'number', `${path}[${i}]`))
  }
  if (typeof value !== 'object' || value === null) return [`${path}: expected an object`]
  return Object.entries(shape).flatMap(([k, s]) =>
    k in value ? shapeErrors((value as Record<string, unknown>)[k], s, `${path}.${k}`) : [`${path}.${k}: missing`])
}

const terms: Shape = { pair: 'number', hyper: 'number', entropy: 'number', reg: 'number', mem: 'number', total: 'number' }
const roleProbs: Shape = { E: 'number', S: 'number', O: 'number' }
const GRADIENT: Shape = {
  ts: 'number', E_terms: terms, deltaE_last: 'number',
  pair_stats_count: 'number', hyper_stats_count: 'number', role_entropy_count: 'number', mem_stats_count: 'number',
  real_time_metrics: {
    active_agents: 'number', total_agents: 'number', memory_utilization: 'number', compression_knob: 'number',
    last_energy_update: 'number',
  },
  agent_summaries: [{ agent_id: 'string', capability: 'number', mem_util: 'number', role_probs: roleProbs }],
  breakdown: terms,
  grad: { 'dE/dH': 'number', 'dE/dP_entropy': 'number', 'dE/dE_sel': ['number'], 'dE/ds_norm': 'number', 'dE/dmem': 'number' },
}
const MONITOR: Shape = {
  timestamp: 'number', energy_terms: terms,
  memory_metrics: { cost_vq: 'number', bytes_used_kb: 'number', hit_count: 'number', compression_ratio: 'number' },
  agent_metrics: {
    total_agents: 'number', active_agents: 'number', avg_capability: 'number', avg_mem_util: 'number',
    agent_details: [{
      agent_id: 'string', capability: 'number', mem_util: 'number', role_probs: roleProbs, tasks_processed: 'number',
      success_rate: 'number', last_heartbeat: 'number', is_active: 'boolean',
      energy_proxy: { capability: 'number', entropy_contribution: 'number', mem_util: 'number', state_norm: 'number' },
    }],
  },
  system_metrics: { compression_knob: 'number', energy_slope: 'number' },
}
const CALIBRATE: Shape = {
  timestamp: 'number',
  calibration_metrics: {
    total_tasks: 'number', successful_tasks: 'number', final_energy: 'number', energy_trend: 'number',
    energy_range: { min: 'number', max: 'number' }, trend_direction: 'string', calibration_quality: 'string',
  },
  energy_history: [{ task_num: 'number', energy: 'number', timestamp: 'number' }],
  task_results: [{ task_id: 'string', agent_id: 'string', success: 'boolean', energy: 'number' }],
  agent_summary: { total_agents: 'number', active_agents: 'number', agent_ids: ['string'] },
}

// --- a tiny hand-set population: 3 agents, 4 dimensions ---

const H3: Matrix = [[1, 0, 2, -1], [0.5, -1, 0, 3], [-2, 1, 1, 0]]
const W3: Matrix = [[0.2, 0.1, -0.3], [0.1, 0.4, 0.05], [-0.3, 0.05, 0.1]]
const P3: Matrix = [[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.05, 0.05, 0.9]]
function tinyPopulation(): Population {
  const base = createPopulation({ agents: 3, dim: 4, seed: 1, hyperedges: 2 })
  return {
    ...base,
    H: Float64Array.from(H3.flat()),
    W: Float64Array.from(W3.flat()),
    P: Float64Array.from(P3.flat()),
    wHyper: Float64Array.from([0.5, 2]),
    eSel: Float64Array.from([0.4, 0.25]),
    memory: { bytes_used: 4096, hit_count: 7, compression_knob: 0.5, p_compress: 0.8 },
  }
}

t.test('terms match a straightforward computation on a hand-set population', async (t) => {
  const pop = tinyPopulation()
  const gram = matmul(H3, transpose(H3))
  const pair = -W3.reduce((s, row, i) => s + row.reduce((r, w, j) => r + w * (gram[i]?.[j] ?? NaN), 0), 0)
  const hyper = -(0.5 * 0.4 + 2 * 0.25)
  const entropy = -ALPHA * P3.reduce((s, p) => s - p.reduce((r, x) => r + x * Math.log2(x + 1e-9), 0), 0)
  const reg = LAMBDA * frobenius(H3) ** 2
  const mem = BETA * 0.8 * (1 - 1 / 2) // r_eff = max(1, 1/0.5) = 2
  const expected = { pair, hyper, entropy, reg, mem, total: pair + hyper + entropy + reg + mem }

  const close = (actual: object, label: string, want: Record<string, number> = expected) => {
    const got = actual as Record<string, number>
    for (const [k, v] of Object.entries(want)) t.ok(Math.abs((got[k] ?? NaN) - v) < 1e-12, `${label}.${k}: ${got[k]} ~ ${v}`)
  }
  close(energyTerms(pop), 'energyTerms')
  const g = gradient(pop, NOW)
  close(g.E_terms, 'gradient.E_terms')
  close(monitor(pop, NOW).energy_terms, 'monitor.energy_terms')
  // SeedCore's breakdown (energy_and_grad): natural log over clipped, renormalised role probabilities.
  const lnEntropy = -ALPHA * P3.reduce((s, p) => {
    const q = p.map((x) => Math.min(1, Math.max(1e-8, x)))
    const sum = q.reduce((a, b) => a + b, 0) + 1e-8
    return s - q.reduce((r, x) => r + (x / sum) * Math.log(x / sum), 0)
  }, 0)
  close(g.breakdown, 'gradient.breakdown', { ...expected, entropy: lnEntropy, total: expected.total - entropy + lnEntropy })

  const dEdH = frobenius(matmul(W3, H3).map((row) => row.map((x) => -2 * x)))
  t.ok(Math.abs(g.grad['dE/dH'] - dEdH) < 1e-12, 'dE/dH is ||-2 W H||_F')
  t.same(g.grad['dE/dE_sel'], [-0.5, -2])
  t.equal(g.grad['dE/dP_entropy'], -ALPHA)
  t.ok(Math.abs(g.grad['dE/ds_norm'] - 2 * LAMBDA * frobenius(H3)) < 1e-12)
  t.equal(g.grad['dE/dmem'], BETA)
  t.equal(g.ts, NOW / 1000)
})

t.test('pair weights are symmetric with spectral norm clipped to 1', async (t) => {
  for (const seed of [1, 2, 99]) {
    const n = 24
    const pop = createPopulation({ agents: n, seed })
    const W = toMatrix(pop.W, n, n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (W[i]?.[j] !== W[j]?.[i]) t.fail(`W[${i}][${j}] != W[${j}][${i}]`)
    const norm = Math.max(...jacobiEigenvalues(W).map(Math.abs))
    t.ok(norm <= 1 + 1e-9, `seed ${seed}: ||W||_2 = ${norm} <= 1`)
    t.ok(norm > 1 - 1e-6, `seed ${seed}: random affinities exceed 1, so the clipped norm is 1 (${norm})`)
  }
  const small = Float64Array.from([0.3, 0.1, 0.1, -0.2]) // norm < 1: left alone
  clipSpectralNorm(small, 2)
  t.same(Array.from(small), [0.3, 0.1, 0.1, -0.2])
  const big = Float64Array.from([1, -1, -1, 1]) // eigenvalues 2 and 0
  t.ok(Math.abs(clipSpectralNorm(big, 2).norm - 1) < 1e-12)
  t.ok(Math.abs(Math.max(...jacobiEigenvalues(toMatrix(big, 2, 2)).map(Math.abs)) - 1) < 1e-12)
})

t.test('same seed gives identical answers, a different seed different ones', async (t) => {
  const run = (seed: number) => {
    const pop = createPopulation({ agents: 32, seed })
    return { g: gradient(pop, NOW), m: monitor(pop, NOW), c: calibrate(pop, NOW, seed) }
  }
  t.same(run(5), run(5))
  const [a, b] = [run(5), run(6)]
  t.not(a.g.E_terms.total, b.g.E_terms.total)
  t.not(a.m.energy_terms.total, b.m.energy_terms.total)
  t.notSame(a.c, b.c)
})

t.test('gradient, monitor and calibrate leave the population untouched', async (t) => {
  const pop = createPopulation({ agents: 24, seed: 3 })
  const before = { H: pop.H.slice(), W: pop.W.slice(), P: pop.P.slice(), capability: pop.capability.slice() }
  gradient(pop, NOW)
  monitor(pop, NOW)
  calibrate(pop, NOW, 3)
  t.same({ H: pop.H, W: pop.W, P: pop.P, capability: pop.capability }, before)
})

t.test('response shapes: every field, the right types, finite numbers', async (t) => {
  const pop = createPopulation({ agents: 40, seed: 11 })
  const g = gradient(pop, NOW)
  const m = monitor(pop, NOW)
  const c = calibrate(pop, NOW, 11)
  t.same(shapeErrors(g, GRADIENT), [])
  t.same(shapeErrors(m, MONITOR), [])
  t.same(shapeErrors(c, CALIBRATE), [])
  t.same([...allFinite(g), ...allFinite(m), ...allFinite(c)], [])
  t.ok(g.agent_summaries.length <= 5)
  t.equal(m.agent_metrics.agent_details.length, 40, 'every agent is listed, as SeedCore lists them')
  t.equal(m.agent_metrics.total_agents, 40)
  t.equal(g.grad['dE/dE_sel'].length, pop.wHyper.length)
  for (const d of m.agent_metrics.agent_details) t.ok(d.last_heartbeat <= NOW / 1000)
})

t.test('calibrate: the successful tasks of ten, with SeedCore\'s ids, ledger energies and trend', async (t) => {
  let listed = 0
  for (const seed of [1, 2, 3, 4, 5]) {
    const pop = createPopulation({ agents: 30, seed })
    const c = calibrate(pop, NOW, seed)
    const m = c.calibration_metrics
    listed += c.task_results.length
    t.ok(c.task_results.length <= 10)
    t.ok(c.task_results.every((r) => r.success), 'only successful tasks are listed, as SeedCore lists them')
    t.equal(m.total_tasks, c.task_results.length, 'total_tasks counts the listed (successful) tasks')
    t.equal(m.successful_tasks, c.task_results.length)
    t.equal(c.energy_history.length, c.task_results.length)
    for (const [i, r] of c.task_results.entries()) {
      t.match(r.task_id, /^calibration_task_[0-9]$/)
      t.equal(c.energy_history[i]?.task_num, Number(r.task_id.slice('calibration_task_'.length)) + 1)
      t.ok(r.energy >= 0.05 && r.energy <= 0.09, `a fresh ledger's energy 0.1 * similarity: ${r.energy}`)
      t.ok(r.system_energy < 0, 'the whole-system energy after the update is reported beside it')
    }
    t.same(c.agent_summary.agent_ids, Array.from({ length: 30 }, (_, i) => `agent_${String(i).padStart(4, '0')}`), 'every agent id')
    if (c.task_results.length === 0) continue
    const trend = (c.energy_history.at(-1)?.energy ?? NaN) - (c.energy_history[0]?.energy ?? NaN)
    t.equal(m.energy_trend, trend)
    t.equal(m.trend_direction, trend < 0 ? 'decreasing' : 'increasing')
    t.equal(m.calibration_quality, trend < 0 ? 'good' : 'needs_adjustment')
    t.equal(m.final_energy, c.energy_history.at(-1)?.energy)
  }
  t.ok(listed > 0, 'some task succeeded over five seeds')
})

t.test('calibrate with no successful task: zeros, as SeedCore answers', async (t) => {
  const base = createPopulation({ agents: 12, seed: 8 })
  const pop: Population = { ...base, capability: new Float64Array(base.agents) } // capability 0: every task fails
  const c = calibrate(pop, NOW, 8)
  t.same(c.calibration_metrics, {
    total_tasks: 0, successful_tasks: 0, final_energy: 0, energy_trend: 0, energy_range: { min: 0, max: 0 },
    trend_direction: 'unknown', calibration_quality: 'insufficient_data',
  })
  t.equal(c.energy_history.length, 0)
  t.equal(c.task_results.length, 0)
  t.same(allFinite(c), [])
  t.same(shapeErrors(c, CALIBRATE), [])
})

t.test('property: small random populations give finite answers and a bounded entropy term', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 8 }), fc.integer(), fc.integer({ min: 1, max: 6 }),
      (agents, dim, seed, hyperedges) => {
        const pop = createPopulation({ agents, dim, seed, hyperedges })
        const g = gradient(pop, NOW)
        const answers = [g, monitor(pop, NOW), calibrate(pop, NOW, seed)]
        if (answers.flatMap((a) => allFinite(a)).length > 0) return false
        // log2(p + 1e-9) can make a near-certain role's entropy a hair negative: allow 1e-9 per agent
        const lower = -ALPHA * agents * Math.log2(3)
        return g.E_terms.entropy >= lower - 1e-9 && g.E_terms.entropy <= 1e-9 * agents
      },
    ),
    { numRuns: 200 },
  )
  t.pass('property held')
})
