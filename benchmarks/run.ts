/**
 * The benchmark suite. `npm run bench` runs every scenario in full; `npm run bench:ci` runs
 * `--quick --check`: short runs, and a non-zero exit when a target is missed (beyond its noise
 * margin). `--only=A,C` runs some scenarios. Progress goes to stderr, one line per step; results
 * go to benchmarks/results/ (JSON, report.md, chart.svg).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { stopSharedRedis } from './lib/redis.js'
import { SkipScenario, type BenchOptions, type Scenario, type ScenarioResult } from './lib/types.js'
import { formatValue } from './lib/targets.js'
import { renderChart } from './report/chart.js'
import { appendHistory, historyEntry, readHistory, renderHistoryChart } from './report/history.js'
import { updateReadme } from './report/readme.js'
import { allTargets, renderReport, strictPass, type Machine, type RunResults } from './report/markdown.js'
import { hitThroughput } from './scenarios/hit-throughput.js'
import { stampede } from './scenarios/stampede.js'
import { energy } from './scenarios/energy.js'
import { outage } from './scenarios/outage.js'
import { rollover } from './scenarios/rollover.js'
import { memory } from './scenarios/memory.js'
import { eventLoop } from './scenarios/event-loop.js'

const SCENARIOS: Scenario[] = [hitThroughput, stampede, energy, outage, rollover, memory, eventLoop]
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const HISTORY = `${RESULTS}history.jsonl`
const README = fileURLToPath(new URL('../README.md', import.meta.url))

function parseArgs(argv: string[]): BenchOptions {
  let quick = false
  let check = false
  let only: Set<string> | undefined
  for (const arg of argv) {
    if (arg === '--quick') quick = true
    else if (arg === '--check') check = true
    else if (arg.startsWith('--only=')) only = new Set(arg.slice(7).toUpperCase().split(',').filter(Boolean))
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: tsx benchmarks/run.ts [--quick] [--check] [--only=A,B,...]\n')
      process.exit(0)
    } else {
      process.stderr.write(`unknown argument ${arg}\n`)
      process.exit(2)
    }
  }
  return { quick, check, only }
}

function loadAverage(): number {
  return Math.round((os.loadavg()[0] ?? 0) * 100) / 100
}

function machine(): Machine {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: loadAverage(),
  }
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`)
}

async function runScenario(scenario: Scenario, options: BenchOptions): Promise<ScenarioResult> {
  const started = performance.now()
  const load = loadAverage()
  progress(`[${scenario.id}] ${scenario.title}: started (load average ${load})`)
  const base = { id: scenario.id, title: scenario.title, loadAverage: load, tables: [], notes: [], targets: [], charts: [], data: null }
  try {
    const outcome = await scenario.run(options, (line) => progress(`[${scenario.id}] ${line}`))
    const seconds = (performance.now() - started) / 1000
    const passed = outcome.targets.filter((t) => t.pass).length
    progress(`[${scenario.id}] done in ${Math.round(seconds)} s: ${passed}/${outcome.targets.length} targets pass`)
    return { ...base, ...outcome, status: 'done', seconds }
  } catch (error) {
    const seconds = (performance.now() - started) / 1000
    const skipped = error instanceof SkipScenario
    const reason = skipped ? (error as Error).message : String((error as Error)?.stack ?? error)
    progress(`[${scenario.id}] ${skipped ? 'left out' : 'FAILED'}: ${reason.split('\n')[0]}`)
    return { ...base, status: skipped ? 'skipped' : 'failed', reason: skipped ? reason : reason.split('\n').slice(0, 3).join(' '), seconds }
  }
}

function write(results: RunResults): string {
  mkdirSync(RESULTS, { recursive: true })
  const stamp = results.startedAt.replace(/[:.]/g, '-')
  const json = `${JSON.stringify(results, null, 2)}\n`
  writeFileSync(`${RESULTS}${stamp}.json`, json)
  writeFileSync(`${RESULTS}latest.json`, json)
  writeFileSync(`${RESULTS}report.md`, renderReport(results))
  const charts = results.scenarios.flatMap((s) => s.charts)
  const caption = `${results.machine.cpu}, ${results.machine.cores} cores, Node ${results.machine.node}, ${results.mode} mode, ${results.startedAt}`
  writeFileSync(`${RESULTS}chart.svg`, renderChart(charts, caption))
  appendHistory(HISTORY, historyEntry(results))
  writeFileSync(`${RESULTS}history.svg`, renderHistoryChart(readHistory(HISTORY)))
  if (results.mode === 'full' && !updateReadme(README, results)) progress('README.md has no bench:start/bench:end markers: its benchmark section was not updated')
  return `${RESULTS}${stamp}.json`
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2))
  const startedAt = new Date().toISOString()
  const started = performance.now()
  const info = machine()
  progress(`benchmarks (${options.quick ? 'quick' : 'full'} mode): ${info.cpu}, ${info.cores} cores, Node ${info.node}`)
  const scenarios: ScenarioResult[] = []
  try {
    for (const scenario of SCENARIOS) {
      if (options.only && !options.only.has(scenario.id)) continue
      scenarios.push(await runScenario(scenario, options))
    }
  } finally {
    await stopSharedRedis()
  }
  const results: RunResults = { startedAt, mode: options.quick ? 'quick' : 'full', seconds: (performance.now() - started) / 1000, machine: info, scenarios }
  const file = write(results)
  progress(`results: ${file}, report: ${RESULTS}report.md, chart: ${RESULTS}chart.svg`)
  const targets = allTargets(results)
  for (const t of targets) {
    const verdict = t.pass ? (strictPass(t) ? 'pass' : 'pass (noise margin)') : t.gating ? 'MISS' : 'below target (not gating in quick mode)'
    progress(`  ${t.id.padEnd(18)} ${verdict.padEnd(40)} ${formatValue(t.actual, t.unit).padStart(12)}  (${t.comparator} ${formatValue(t.target, t.unit)}) ${t.what}`)
  }
  for (const s of scenarios.filter((x) => x.status !== 'done')) progress(`  ${s.id}    ${s.status === 'skipped' ? 'left out' : 'FAILED'}: ${(s.reason ?? '').split('\n')[0]}`)
  if (!options.check) return 0
  const missed = targets.filter((t) => !t.pass && t.gating)
  const failed = scenarios.filter((s) => s.status === 'failed')
  const gating = targets.filter((t) => t.gating).length
  if (missed.length === 0 && failed.length === 0) {
    progress(`check: all ${gating} gating targets pass${gating < targets.length ? ` (${targets.length - gating} more measured, not gating in ${results.mode} mode)` : ''}`)
    return 0
  }
  for (const t of missed) progress(`check: MISSED ${t.id} ${t.what}: ${formatValue(t.actual, t.unit)}, needs ${t.comparator} ${formatValue(t.threshold, t.unit)}`)
  for (const s of failed) progress(`check: scenario ${s.id} failed`)
  return 1
}

process.exit(await main())
