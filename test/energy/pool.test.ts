import t from 'tap'
import { threadId as mainThreadId } from 'node:worker_threads'
import { ComputeCancelledError, ComputeTimeoutError, PoolBusyError } from '../../src/energy/errors.js'
import { createEnergyPool } from '../../src/energy/pool.js'
import { gradient } from '../../src/energy/model.js'
import { createPopulation } from '../../src/energy/population.js'
import { calibrate as calibrate_ } from '../../src/energy/calibrate.js'

const NOW = 1_700_000_000_000

t.test('computes in a worker thread what the model computes in process', async (t) => {
  const pool = createEnergyPool({ agents: 32, seed: 7, threads: 1, timeoutMs: 30_000 })
  t.teardown(() => pool.close())
  const out = await pool.compute('gradient', NOW)
  t.equal(mainThreadId, 0)
  t.not(out.threadId, mainThreadId, `ran on worker thread ${out.threadId}`)
  t.ok(out.ms > 0)
  t.same(out.result, gradient(createPopulation({ agents: 32, seed: 7 }), NOW))
  t.notOk('threadId' in out.result, 'the result object carries no bookkeeping')
  const monitor = await pool.compute('monitor', NOW)
  t.equal(monitor.result.agent_metrics.total_agents, 32)
  const calibrate = await pool.compute('calibrate', NOW)
  t.same(calibrate.result, calibrate_(createPopulation({ agents: 32, seed: 7 }), NOW, 7), 'the same answer as in the main thread')
})

t.test('a computation past its deadline is abandoned; the pool works afterwards', async (t) => {
  const pool = createEnergyPool({ agents: 600, seed: 3, threads: 1, timeoutMs: 30_000 })
  t.teardown(() => pool.close())
  const warm = await pool.compute('monitor', NOW) // the worker is up and holds the population
  const started = performance.now()
  const error = await pool.compute('gradient', NOW, { timeoutMs: 50 }).then(
    () => t.fail('gradient at 600 agents should take far longer than 50 ms'),
    (e: unknown) => e,
  )
  t.ok(error instanceof ComputeTimeoutError)
  t.equal((error as { code?: unknown }).code, 'E_COMPUTE_TIMEOUT')
  t.equal((error as ComputeTimeoutError).queued, false, 'it ran: a timeout of the computation itself')
  t.ok(performance.now() - started < 2_000, 'rejected at the deadline, not when the work finished')
  const after = await pool.compute('monitor', NOW)
  t.not(after.threadId, warm.threadId, 'the timed-out worker was terminated and replaced')
  t.same(after.result, warm.result, 'and the new worker gives the same answer')
})

t.test('close() ends the workers', async (t) => {
  const pool = createEnergyPool({ agents: 16, seed: 1, threads: 2, timeoutMs: 30_000 })
  await Promise.all([pool.compute('monitor', NOW), pool.compute('gradient', NOW)])
  const started = performance.now()
  await pool.close()
  t.ok(performance.now() - started < 2_000, 'closed promptly')
  await t.rejects(pool.compute('monitor', NOW), { code: 'E_POOL_CLOSED' }, 'no computation after close')
})

t.test('past threads + maxQueue computations in hand, compute() refuses at once', async (t) => {
  const pool = createEnergyPool({ agents: 64, seed: 1, threads: 1, timeoutMs: 30_000, maxQueue: 2 })
  t.teardown(() => pool.close())
  const accepted = [pool.compute('monitor', NOW), pool.compute('gradient', NOW), pool.compute('calibrate', NOW)]
  const refused = await pool.compute('monitor', NOW).then(() => undefined, (e: unknown) => e)
  t.ok(refused instanceof PoolBusyError, 'the fourth is refused: one worker, two waiting')
  t.equal((refused as PoolBusyError).code, 'E_POOL_BUSY')
  t.ok((refused as PoolBusyError).retryAfterMs > 0, 'with a guess at when to come back')
  t.match(pool.load(), { queued: 3, running: 0, refused: 1 }, 'nothing started yet: the worker is still booting')
  await Promise.all(accepted)
  t.match(pool.load(), { queued: 0, running: 0, started: 3, refused: 1 })
  await pool.compute('monitor', NOW)
  t.equal(pool.load().started, 4, 'room again once the queue drained')
})

t.test('a queued computation nobody waits for is dropped, never run', async (t) => {
  const pool = createEnergyPool({ agents: 64, seed: 1, threads: 1, timeoutMs: 30_000 })
  t.teardown(() => pool.close())
  const first = pool.compute('gradient', NOW)
  const gone = new AbortController()
  const second = pool.compute('monitor', NOW, { signal: gone.signal })
  gone.abort()
  const error = await second.then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof ComputeCancelledError)
  t.equal((error as ComputeCancelledError).code, 'E_COMPUTE_CANCELLED')
  await first
  t.match(pool.load(), { started: 1, cancelled: 1, queued: 0 }, 'the worker only ever took the first')
  const already = new AbortController()
  already.abort()
  await t.rejects(pool.compute('monitor', NOW, { signal: already.signal }), { code: 'E_COMPUTE_CANCELLED' }, 'never queued when already abandoned')
  t.equal(pool.load().started, 1)
})

t.test('a computation still waiting for a worker at its deadline is marked queued', async (t) => {
  const pool = createEnergyPool({ agents: 64, seed: 1, threads: 1, timeoutMs: 30_000 })
  t.teardown(() => pool.close())
  // A new pool's worker takes far longer than 1 ms to start.
  const error = await pool.compute('monitor', NOW, { timeoutMs: 1 }).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof ComputeTimeoutError)
  t.equal((error as ComputeTimeoutError).queued, true)
  t.match((error as Error).message, /waiting for a worker/)
})

t.test('bad pool options are refused at construction, naming the option, before any worker starts', async (t) => {
  const good = { agents: 8, seed: 1, threads: 1, timeoutMs: 1_000 }
  const cases: Array<[string, Record<string, number>]> = [
    ['maxQueue', { maxQueue: -1 }],
    ['maxQueue', { maxQueue: 1.5 }],
    ['agents', { agents: 0 }],
    ['seed', { seed: Number.NaN }],
    ['threads', { threads: 0 }],
    ['timeoutMs', { timeoutMs: 0 }],
  ]
  for (const [option, bad] of cases) {
    t.throws(() => createEnergyPool({ ...good, ...bad }), { name: 'OptionError', code: 'E_OPTION', option }, `${JSON.stringify(bad)} names ${option}`)
  }
})
