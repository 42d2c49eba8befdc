import t from 'tap'
import { threadId as mainThreadId } from 'node:worker_threads'
import { ComputeTimeoutError, createEnergyPool } from '../../src/energy/pool.js'
import { createPopulation, gradient } from '../../src/energy/model.js'
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
