// The in-process tier and the invalidation channel, each on its own: the tier follows the
// cache's clock and its budget; the channel delivers across connections of one real Redis and
// says when its subscription is lost (CLIENT KILL TYPE pubsub) and back.
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import type { PubSubState } from '../../adapters/contract.js'
import { L1Tier } from '../../src/cache/l1.js'
import { InvalidationBus, type Invalidation } from '../../src/cache/bus.js'
import type { CachedEntry } from '../../src/cache/entry.js'
import { redisFor } from '../support/redis.js'
import { redisCall, waitUntil } from '../support/probe.js'

const quiet = { warn: () => {}, info: () => {} }

function entry(body: string, bucket = 1): CachedEntry {
  return { status: 200, headers: [['content-type', 'text/plain']], body: Buffer.from(body), created: 0, bucket }
}

t.test('L1: entries expire by the cache clock, not by real time', async (t) => {
  let now = 1_000_000
  const l1 = new L1Tier({ maxBytes: 1 << 20 }, () => now)
  l1.set('ns:r:1', entry('a'), now + 30_000)
  t.equal(l1.get('ns:r:1')?.body.toString(), 'a')
  now += 29_999
  t.ok(l1.get('ns:r:1'), 'still fresh 1 ms before its end')
  now += 1
  t.equal(l1.get('ns:r:1'), undefined, 'gone at its end, though no real time passed')
  l1.set('ns:r:2', entry('b'), now)
  t.equal(l1.get('ns:r:2'), undefined, 'an entry already at its end is not kept')
})

t.test('L1: byte budget, prefix drops, suspension', async (t) => {
  const now = 0
  const l1 = new L1Tier({ maxBytes: 4096 }, () => now)
  for (let i = 0; i < 20; i++) l1.set(`ns:r:${i}`, entry('x'.repeat(1000)), now + 60_000)
  t.ok(l1.bytes <= 4096, `within budget (${l1.bytes} bytes)`)
  t.ok(l1.size < 20, 'least recently used entries went')
  l1.set('ns:big:1', entry('y'.repeat(5000)), now + 60_000)
  t.equal(l1.get('ns:big:1'), undefined, 'an entry larger than the budget is not kept')
  l1.set('ns:a:1', entry('1'), now + 60_000)
  l1.set('ns:ab:1', entry('2'), now + 60_000)
  t.equal(l1.deletePrefix('ns:a:'), 1)
  t.ok(l1.get('ns:ab:1'), 'a look-alike prefix stays')
  l1.suspend()
  t.equal(l1.get('ns:ab:1'), undefined, 'not read while suspended')
  l1.set('ns:c:1', entry('3'), now + 60_000)
  l1.resume()
  t.equal(l1.size, 0, 'back empty: messages may have been missed meanwhile')
  t.equal(l1.get('ns:c:1'), undefined, 'nothing was kept while suspended')
})

t.test('bus: delivered to the other instance, not to itself; lost and back on CLIENT KILL', async (t) => {
  const redis = await redisFor(t)
  const stores = [new RedisStore({ url: redis.url, logger: quiet }), new RedisStore({ url: redis.url, logger: quiet })]
  t.teardown(() => Promise.all(stores.map((s) => s.disconnect())))
  const buses = stores.map((store) => new InvalidationBus(store.pubsub(), 'bus-test', quiet))
  t.teardown(() => Promise.all(buses.map((b) => b.close())))
  const got: Invalidation[][] = [[], []]
  const states: PubSubState[][] = [[], []]
  await Promise.all(buses.map((bus, i) => bus.start({ apply: (inv) => got[i]!.push(inv), state: (s) => states[i]!.push(s) })))
  await waitUntil('both subscribed', async () => buses.every((b) => b.state === 'subscribed'))

  await buses[0]!.publish({ kind: 'prefix', value: 'bus-test:user:' })
  await waitUntil('the other instance hears it', async () => got[1]!.length === 1)
  t.same(got[1], [{ kind: 'prefix', value: 'bus-test:user:' }])
  t.same(got[0], [], 'the publisher already applied it and ignores its own message')
  t.equal(buses[0]!.sent, 1)
  t.equal(buses[1]!.received, 1)

  await redisCall(redis.host, redis.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub'])
  await waitUntil('the loss is reported', async () => states.every((s) => s.includes('down')))
  await waitUntil('both subscribed again', async () => states.every((s) => s.at(-1) === 'subscribed'))
  t.same(states[0], ['subscribed', 'down', 'subscribed'])
  await buses[1]!.publish({ kind: 'key', value: 'bus-test:user:1:5' })
  await waitUntil('messages flow after the reconnection', async () => got[0]!.length === 1)
  t.same(got[0], [{ kind: 'key', value: 'bus-test:user:1:5' }])
})
