/**
 * Issue 9's measurement: three processes on one Redis, each with its in-process tier (L1) holding
 * the answer; one invalidates, and the other two must stop serving the old answer (issue 9's target:
 * within 300 ms, p99 over 50 invalidations, each round's time being the later of the two others;
 * printed, not asserted, as speed targets are on this shared machine).
 *
 * How it is observed: from the moment the test sends the invalidating request, each other instance
 * is polled over HTTP, one request after another. An instance has stopped serving the old answer
 * by the time the first request that does not get it was sent: the request before it, sent one
 * round trip earlier, still got it. That send time is the measure; the time its reply arrives is
 * printed too, and is later by the new answer's computation, or by the wait on the other
 * instance's computation (the cross-process lock is polled every 50 ms). The handler answers a
 * version the test keeps in Redis, so an old answer can only come from a copy: the store's entries
 * are gone before the message is sent, which leaves the copy in L1, and with a fixed clock that copy
 * never expires on its own. An invalidation that never reaches the others fails the round.
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { listening, request, spawnServer, waitFor } from '../energy/support.js'
import { redisFor } from '../support/redis.js'

const PEERS = 3
const ROUNDS = 50
const BOUND_MS = 300

/** Nearest-rank percentile of ascending `sorted`. */
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!

t.test(`three processes: an invalidation on one reaches the others' L1 (p99 of ${ROUNDS} printed against ${BOUND_MS} ms)`, async (t) => {
  const redis = await redisFor(t)
  const client = new Redis(redis.url)
  t.teardown(() => client.quit())
  const namespace = `three${randomUUID().slice(0, 6)}`
  await client.set(`${namespace}-version`, '0')
  const env = { PEER_REDIS_URL: redis.url, PEER_NAMESPACE: namespace, PEER_CLOCK_MS: String(Date.now()), PEER_L1_BYTES: String(1 << 20) }
  const command = [process.execPath, '--import', 'tsx', 'test/distributed/fixtures/cache-peer.ts']
  const spawned = Array.from({ length: PEERS }, () => spawnServer(t, env, { command }))
  const bases = (await Promise.all(spawned.map((peer) => listening(peer)))).map((peer) => peer.base)
  const health = async (base: string) => (await request(base, '/health')).json as { l1: { entries: number; channel: string; messages_received: number } }
  for (const base of bases) await waitFor(`${base} to subscribe`, async () => (await health(base)).l1.channel === 'subscribed')

  const rounds: number[] = []
  const answered: number[] = []
  const invalidateMs: number[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    // Every instance answers the current version from its own L1.
    for (const base of bases) {
      await waitFor(`${base} to hold version ${round - 1}`, async () => {
        const reply = await request(base, '/data')
        return reply.json?.v === round - 1 && reply.headers.get('x-cache') === 'HIT' && (await health(base)).l1.entries > 0
      })
    }
    await client.set(`${namespace}-version`, String(round))
    const invalidator = bases[round % PEERS]!
    const others = bases.filter((base) => base !== invalidator)
    const started = performance.now()
    const invalidated = request(invalidator, '/invalidate', { method: 'POST' })
    const seen = await Promise.all(
      others.map(async (base) => {
        for (const deadline = started + 10_000; performance.now() < deadline; ) {
          const sent = performance.now() - started
          const reply = await request(base, '/data')
          if (reply.json?.v === round) return { sent, answered: performance.now() - started }
          if (reply.json?.v !== round - 1) throw new Error(`${base} answered ${reply.text}`)
        }
        throw new Error(`round ${round}: ${base} still serves version ${round - 1} 10 s after the invalidation on ${invalidator}`)
      }),
    )
    const reply = await invalidated
    if (reply.status !== 200) t.fail(`round ${round}: POST /invalidate answered ${reply.status}`)
    invalidateMs.push(reply.ms)
    for (const base of bases) {
      const after = await request(base, '/data')
      if (after.json?.v !== round) t.fail(`round ${round}: ${base} answers ${after.text} after the invalidation`)
    }
    rounds.push(Math.max(...seen.map((s) => s.sent)))
    answered.push(Math.max(...seen.map((s) => s.answered)))
  }

  const ms = (value: number) => `${value.toFixed(1)} ms`
  const summary = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    return `p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted.at(-1)!)}`
  }
  const p99 = percentile([...rounds].sort((a, b) => a - b), 99)
  t.comment(`old answer no longer served by either other process, after the invalidating request was sent: ${summary(rounds)} over ${ROUNDS} invalidations`)
  t.comment(`the new answer received from both (its computation, or the wait on the other's, included): ${summary(answered)}`)
  t.comment(`the invalidating request's own round trip (POST /invalidate): ${summary(invalidateMs)}`)
  const received = await Promise.all(bases.map(async (base) => (await health(base)).l1.messages_received))
  const sentBy = (i: number) => Array.from({ length: ROUNDS }, (_, r) => (r + 1) % PEERS === i).filter(Boolean).length
  t.same(received, bases.map((_, i) => ROUNDS - sentBy(i)), 'each instance heard every invalidation the other two sent')
  // The 300 ms is a speed target, and this machine is shared: it is printed, not asserted (a
  // full run at load average 14 measured 233 ms). What is asserted is the behaviour behind it:
  // every round's old answer stopped without expiring (the clock stands still), and every message arrived.
  t.comment(`p99 ${ms(p99)}: ${p99 <= BOUND_MS ? 'within' : 'ABOVE'} issue 9's target of ${BOUND_MS} ms`)
})
