// The benchmark suite's bookkeeping: which misses gate a run, the per-round median, the history
// file and the README section. The measurements themselves run in `npm run bench`, not here.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { commandsBetween } from '../../benchmarks/lib/redis-cpu.js'
import { median } from '../../benchmarks/lib/stats.js'
import { energyRatioTarget, evaluate, HIT_TARGETS, OUTAGE_TARGET, rolloverTarget } from '../../benchmarks/lib/targets.js'
import { appendHistory, historyEntry, readHistory, renderHistoryChart } from '../../benchmarks/report/history.js'
import { updateReadme } from '../../benchmarks/report/readme.js'
import type { RunResults } from '../../benchmarks/report/markdown.js'

t.test('throughput targets gate full runs only; counts gate both', async (t) => {
  const quickMiss = evaluate(HIT_TARGETS.A1, 0.8, true)
  t.equal(quickMiss.pass, false)
  t.equal(quickMiss.gating, false, 'a quick-mode throughput miss does not fail the run')
  t.equal(evaluate(HIT_TARGETS.A1, 0.8, false).gating, true, 'a full run gates it')
  t.equal(evaluate(HIT_TARGETS.A1, 0.95, false).pass, true, 'the target itself passes: no margin in full mode')
  t.equal(evaluate(HIT_TARGETS.A1, 0.949, false).pass, false)
  const failed = evaluate(OUTAGE_TARGET, 1, true)
  t.same([failed.pass, failed.gating], [false, true], 'one failed request fails a quick run')
  t.equal(evaluate(energyRatioTarget('gradient'), 900, true).gating, true, 'a before/after ratio gates a quick run')
  t.equal(evaluate(energyRatioTarget('monitor'), 900, true).gating, false, "monitor's (850 KiB answer) gates full runs only")
  t.equal(evaluate(energyRatioTarget('monitor'), 900, false).gating, true)
  const rollover = rolloverTarget(50)
  t.equal(evaluate(rollover, 0.4, true).pass, true, 'the rollover share keeps its quick margin')
  t.equal(evaluate(rollover, 0.4, false).pass, false)
})

t.test('the in-process tier: its throughput ratio gates full runs, its Redis commands per hit every run', async (t) => {
  t.equal(evaluate(HIT_TARGETS.A4, 0.9, true).gating, false)
  t.equal(evaluate(HIT_TARGETS.A4, 0.9, false).pass, false)
  t.same(pick(evaluate(HIT_TARGETS.A4c, 0, true)), { pass: true, gating: true })
  t.same(pick(evaluate(HIT_TARGETS.A4c, 1 / 50_000, true)), { pass: false, gating: true }, 'one command over 50,000 hits misses')
  t.same(pick(evaluate(HIT_TARGETS.A4c, Number.NaN, true)), { pass: false, gating: true }, 'not measured is a miss, not a pass')
})

t.test('Redis commands between two INFO commandstats readings, by name', async (t) => {
  const before = new Map([['mget', 10], ['get', 5]])
  const after = new Map([['mget', 14], ['get', 5], ['set', 2]])
  t.same(commandsBetween(before, after), { mget: 4, set: 2 }, 'unchanged names are left out, new ones counted from 0')
})

function pick(result: { pass: boolean; gating: boolean }): { pass: boolean; gating: boolean } {
  return { pass: result.pass, gating: result.gating }
}

t.test('median of per-round ratios ignores a round that measured nothing', async (t) => {
  t.equal(median([1.2, 0.5, 0.9]), 0.9)
  t.equal(median([1, 2, 3, 4]), 2.5)
  t.equal(median([1, Number.NaN, 3]), 2)
  t.ok(Number.isNaN(median([])))
})

function results(mode: 'quick' | 'full', a1: number): RunResults {
  return {
    startedAt: '2026-11-27T05:00:00.000Z',
    mode,
    seconds: 1,
    machine: { cpu: 'test cpu', cores: 2, memoryGiB: 1, node: 'v20', os: 'linux', loadAverageAtStart: 0 },
    scenarios: [
      { id: 'A', title: 'hits', status: 'done', seconds: 1, tables: [{ head: ['x'], rows: [['y']] }], notes: [], charts: [], data: null, targets: [evaluate(HIT_TARGETS.A1, a1, mode === 'quick')] },
    ],
  }
}

t.test('history: one line a run, torn lines skipped, drawn as a chart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-history-'))
  const file = join(dir, 'history.jsonl')
  appendHistory(file, historyEntry(results('quick', 0.9)))
  writeFileSync(file, `${readFileSync(file, 'utf8')}{"torn":`)
  appendHistory(file, historyEntry(results('full', 0.97)))
  const entries = readHistory(file)
  t.equal(entries.length, 1, 'the torn line and the line it swallowed are skipped, not fatal')
  appendHistory(file, historyEntry(results('full', 0.99)))
  const all = readHistory(file)
  t.same(all.map((e) => e.targets[0]?.actual), [0.9, 0.99])
  t.match(all[1], { mode: 'full', machine: { cpu: 'test cpu' }, targets: [{ id: 'A1', gating: true, pass: true }] })
  const svg = renderHistoryChart(all)
  t.match(svg, /<svg[^>]*>/)
  t.match(svg, /A1: 0\.99x \(last\)/, 'the newest value of each ratio is labelled')
})

t.test('the README section is replaced between its markers only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-readme-'))
  const file = join(dir, 'README.md')
  writeFileSync(file, 'before\n<!-- bench:start -->\nold numbers\n<!-- bench:end -->\nafter\n')
  t.equal(updateReadme(file, results('full', 0.97)), true)
  const text = readFileSync(file, 'utf8')
  t.match(text, /^before\n<!-- bench:start -->\nLatest full run/)
  t.match(text, /\| A1 \|.*\| 0\.97x \| pass \|/)
  t.notMatch(text, /old numbers/)
  t.match(text, /<!-- bench:end -->\nafter\n$/)
  writeFileSync(file, 'no markers here\n')
  t.equal(updateReadme(file, results('full', 0.97)), false)
  t.equal(readFileSync(file, 'utf8'), 'no markers here\n', 'nothing written without markers')
})
