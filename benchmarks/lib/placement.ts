/**
 * CPU placement for throughput cases: with `taskset` (util-linux) and at least two CPUs, the
 * server under test runs alone on CPU 0 while the load generator (this process) and redis-server
 * share the others, so a case's req/s reflects the server's cost rather than how the scheduler
 * split two cores between server, load generator and Redis. Without taskset nothing is pinned and
 * the report says so.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

export interface Placement {
  pinned: boolean
  /** One line for the report. */
  description: string
}

const cpus = availableParallelism()
const canPin = cpus >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0
const SERVER_CPUS = '0'
const OTHER_CPUS = cpus > 2 ? `1-${cpus - 1}` : '1'
const ALL_CPUS = `0-${cpus - 1}`

/** Sets the affinity of every thread of `pid`; false when it could not. */
function setAffinity(pid: number, list: string): boolean {
  return canPin && pid > 0 && spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' }).status === 0
}

/** The server under test: alone on CPU 0 (threads it starts later inherit the mask). */
export function pinServer(pid: number): boolean {
  return setAffinity(pid, SERVER_CPUS)
}

/** The load generator and redis-server: on the other CPUs. */
export function pinHelper(pid: number): boolean {
  return setAffinity(pid, OTHER_CPUS)
}

/** Back to every CPU (after a pinned scenario, for the ones that follow). */
export function unpin(pid: number): boolean {
  return setAffinity(pid, ALL_CPUS)
}

export function placement(): Placement {
  return canPin
    ? { pinned: true, description: `pinned with taskset: the server under test on CPU ${SERVER_CPUS}, the load generator and redis-server on CPU ${OTHER_CPUS}` }
    : { pinned: false, description: `not pinned (${cpus < 2 ? 'one CPU' : 'taskset not found'}): server, load generator and redis-server share every CPU` }
}
