/** What the scenarios hand the runner, and what the report and `--check` read. */

export interface BenchOptions {
  quick: boolean
  check: boolean
  /** Scenario ids to run (A..G); all when undefined. */
  only: ReadonlySet<string> | undefined
}

export interface Table {
  title?: string
  head: string[]
  rows: string[][]
}

export type Comparator = '>=' | '<='

/**
 * A target and the measured value. `pass` compares with `threshold`: the target itself in full
 * mode, loosened by the noise margin in quick mode (`margin` says by how much and why).
 */
export interface TargetResult {
  id: string
  scenario: string
  what: string
  actual: number
  comparator: Comparator
  target: number
  threshold: number
  unit: '' | 'x' | '%' | 'ms' | 'count' | 's' | 'MiB'
  pass: boolean
  margin: string
  /** False for a target that is measured but does not fail this run when missed (quick mode). */
  gating: boolean
}

export interface Bar {
  label: string
  value: number
  highlight?: boolean
}

export interface Chart {
  title: string
  unit: string
  bars: Bar[]
  log?: boolean
}

export interface ScenarioResult {
  id: string
  title: string
  status: 'done' | 'skipped' | 'failed'
  /** Why it was skipped or failed: shown in the report as is. */
  reason?: string
  seconds: number
  /** Machine load when it started (1-minute load average): other work on the machine skews numbers. */
  loadAverage?: number
  tables: Table[]
  notes: string[]
  targets: TargetResult[]
  charts: Chart[]
  data: unknown
}

export type ScenarioOutcome = Omit<ScenarioResult, 'id' | 'title' | 'status' | 'seconds' | 'loadAverage'>

export interface Scenario {
  id: string
  title: string
  run(options: BenchOptions, progress: (line: string) => void): Promise<ScenarioOutcome>
}

/** Thrown by a scenario that cannot run here; the report says so instead of a number. */
export class SkipScenario extends Error {
  override name = 'SkipScenario'
}
