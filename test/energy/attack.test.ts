/**
 * Issue 23, finding 1, against the real pool: forced computations no longer starve it. Computations
 * are counted (pool.load()), never timed.
 */
import t from 'tap'
import { manualClock, request, serveInProcess, waitFor } from './support.js'

/** Starts a request that the test can abandon, as curl --max-time does. */
function abandonable(base: string, path: string, headers: Record<string, string> = {}): { abort(): void; done: Promise<unknown> } {
  const controller = new AbortController()
  const done = fetch(`${base}${path}`, { headers, signal: controller.signal }).then((r) => r.text()).catch((e: unknown) => e)
  return { abort: () => controller.abort(), done }
}

t.test('forty abandoned requests with a throwaway Cookie cost at most one computation', async (t) => {
  const { base, energy } = await serveInProcess(t, { ENERGY_AGENTS: '300', ENERGY_THREADS: '1' }, { clock: manualClock().now })
  const attack = Array.from({ length: 40 }, () => abandonable(base, '/energy/calibrate', { cookie: 'x' }))
  await waitFor('the computation in hand', async () => energy.pool.load().started + energy.pool.load().queued > 0)
  for (const request of attack) request.abort()
  await Promise.all(attack.map((r) => r.done))
  await waitFor('the pool to be idle', async () => energy.pool.load().running + energy.pool.load().queued === 0)
  t.ok(energy.pool.load().started <= 1, `computations run for the attack: ${energy.pool.load().started}`)
  const next = await request(base, '/energy/calibrate')
  t.equal(next.status, 200, 'the next ordinary user gets an answer, not a 504')
  const after = await request(base, '/energy/calibrate', { headers: { cookie: 'x' } })
  t.equal(after.headers.get('x-cache'), 'HIT', 'a credentialed request is a HIT like any other')
  t.ok(energy.pool.load().started <= 2)
})

t.test('computations whose every client went away are dropped from the queue, never run', async (t) => {
  const clock = manualClock()
  // One worker and 1000 agents: the first gradient keeps the worker busy for a second or more.
  const { base, energy } = await serveInProcess(t, { ENERGY_AGENTS: '1000', ENERGY_THREADS: '1' }, { clock: clock.now })
  const busy = request(base, '/energy/gradient')
  await waitFor('the gradient to run', async () => energy.pool.load().running === 1, 30_000)
  const gone = []
  for (let i = 0; i < 4; i++) {
    clock.advance(60_000) // a new bucket: a key of its own, so a computation of its own
    gone.push(abandonable(base, '/energy/monitor'))
    await waitFor(`monitor #${i + 1} queued`, async () => energy.pool.load().queued === i + 1)
  }
  for (const request of gone) request.abort()
  await waitFor('the queue emptied', async () => energy.pool.load().cancelled === 4)
  t.match(energy.pool.load(), { queued: 0, started: 1 }, 'only the gradient ever ran')
  t.equal((await busy).status, 200, 'the client that stayed got its answer')
  t.equal((await request(base, '/energy/monitor')).status, 200, 'and the pool serves the next user')
  t.equal(energy.pool.load().started, 2)
})

t.test('past ENERGY_MAX_QUEUE the answer is 503 with Retry-After at once, and never cached', async (t) => {
  const clock = manualClock()
  const { base, energy } = await serveInProcess(t, { ENERGY_AGENTS: '1000', ENERGY_THREADS: '1', ENERGY_MAX_QUEUE: '1' }, { clock: clock.now })
  const running = request(base, '/energy/gradient')
  await waitFor('the gradient to run', async () => energy.pool.load().running === 1, 30_000)
  const queued = request(base, '/energy/monitor')
  await waitFor('the monitor queued', async () => energy.pool.load().queued === 1)
  const refused = await request(base, '/energy/calibrate')
  t.equal(refused.status, 503)
  t.match(refused.headers.get('retry-after'), /^[1-9]\d*$/)
  t.equal(refused.headers.get('cache-control'), 'no-store')
  t.equal(refused.json.error, 'the service is busy: retry later')
  t.equal(energy.pool.load().refused, 1)
  t.equal(energy.pool.load().started, 1, 'refused without queueing')
  t.equal((await running).status, 200)
  t.equal((await queued).status, 200)
  const later = await request(base, '/energy/calibrate')
  t.equal(later.status, 200, 'the 503 was not cached')
  t.equal(later.headers.get('x-cache'), 'MISS')
})
