/** The service's small error catalogue (issue 15), on the library's CacheError base. */
import t from 'tap'
import { CacheError, OptionError } from '../../src/index.js'
import { ComputeCancelledError, ComputeTimeoutError, PoolBusyError, PoolClosedError, SERVICE_ERROR_CODES, ServiceError } from '../../src/energy/errors.js'
import { createPopulation } from '../../src/energy/population.js'
import { createEnergyPool } from '../../src/energy/pool.js'
import { thrownAtOnce } from '../support/thrown.js'

t.test('each service error is a CacheError with its code, and keeps its cause', async (t) => {
  const cause = new Error('worker terminated')
  const errors: Array<[ServiceError, string]> = [
    [new ComputeTimeoutError('gradient', 100, false, { cause }), 'E_COMPUTE_TIMEOUT'],
    [new ComputeCancelledError('monitor', { cause }), 'E_COMPUTE_CANCELLED'],
    [new PoolBusyError('calibrate', 500), 'E_POOL_BUSY'],
    [new PoolClosedError(), 'E_POOL_CLOSED'],
  ]
  for (const [error, code] of errors) {
    t.ok(error instanceof CacheError, `${error.name} is a CacheError`)
    t.equal(error.code, code)
    t.ok(code in SERVICE_ERROR_CODES, `${code} is in the catalogue`)
  }
  t.equal(errors[0]![0].cause, cause)
})

t.test('bad pool and population options are OptionErrors naming the option', async (t) => {
  const cases: Array<[() => unknown, string]> = [
    [() => createEnergyPool({ seed: 1, timeoutMs: 1000, agents: 0 }), 'agents'],
    [() => createEnergyPool({ seed: 1, timeoutMs: 0 }), 'timeoutMs'],
    [() => createEnergyPool({ seed: 1, timeoutMs: 1000, maxQueue: -1 }), 'maxQueue'],
    [() => createPopulation({ agents: 4, seed: Number.NaN }), 'seed'],
  ]
  for (const [run, option] of cases) {
    t.throws(run, { name: 'OptionError', code: 'E_OPTION', option }, option)
    t.ok(thrownAtOnce(run) instanceof OptionError, `${option}: an OptionError, so a CacheError`)
  }
})
