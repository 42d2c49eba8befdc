/**
 * Single flight across processes (PeerLock) without Redis (issue 15): two PeerLocks stand for two
 * processes sharing one store, a ChaosStore behind the ResilientStore the cache uses. The
 * cross-process tests in test/distributed prove the same over real Redis.
 */
import type { KeyvStoreAdapter } from 'keyv'
import t, { type Test } from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { PeerLock, lockKeyOf } from '../../src/cache/flight.js'
import { ResilientStore } from '../../src/cache/resilient-store.js'
import { ChaosStore } from '../support/chaos-store.js'

const KEY = 'ns:route:1'
const LOCK = lockKeyOf(KEY)

function shared(t: Test, chaos = new ChaosStore(), operationTimeout = 50): { store: ResilientStore; chaos: ChaosStore; lock: () => PeerLock<string> } {
  const store = new ResilientStore(chaos as unknown as KeyvStoreAdapter, new MemoryStore(), {
    operationTimeout,
    failureThreshold: 1,
    probeInterval: 60_000,
    logger: { warn: () => {} },
  })
  t.teardown(() => {
    store.close()
    chaos.heal()
  })
  const read = async (): Promise<string | undefined> => (await store.get(KEY)) as string | undefined
  return { store, chaos, lock: () => new PeerLock(store, LOCK, 10_000, read) }
}

t.test('one process claims the key, the other finds it busy; after the release the other computes', async (t) => {
  // Two processes: each its own ResilientStore (and memo of peers' locks) on one shared store.
  const first = shared(t)
  const second = shared(t, first.chaos)
  const [a, b] = [first.lock(), second.lock()]
  t.same(await a.claim(), { kind: 'compute' })
  t.same(await b.claim(), { kind: 'busy' })
  await a.release()
  t.equal(await first.chaos.inner.get(LOCK), undefined, 'released')
  // b still takes the lock as held (a peer's lock is not asked for again before its TTL, issue 19
  // item 6): a new claim says busy, and waiting asks again and finds it free.
  t.same(await b.claim(), { kind: 'busy' })
  t.same(await b.wait(), { kind: 'compute' })
})

t.test('in one process, a lock released there is not remembered as a peer\'s', async (t) => {
  const { lock } = shared(t)
  const [a, b] = [lock(), lock()]
  t.same(await a.claim(), { kind: 'compute' })
  t.same(await b.claim(), { kind: 'busy' })
  await a.release()
  t.same(await b.claim(), { kind: 'compute' })
})

t.test('a result stored before the lock was taken is used, and the lock given back', async (t) => {
  const { store, chaos, lock } = shared(t)
  await store.set(KEY, 'stored', 60_000)
  t.same(await lock().claim(), { kind: 'done', value: 'stored' })
  t.equal(await chaos.inner.get(LOCK), undefined, 'nobody is left waiting out the lock TTL')
})

t.test("a waiter gets the holder's result once it is stored", async (t) => {
  const { store, lock } = shared(t)
  const [holder, waiter] = [lock(), lock()]
  await holder.claim()
  t.same(await waiter.claim(), { kind: 'busy' })
  const waiting = waiter.wait()
  await store.set(KEY, 'computed', 60_000)
  await holder.release()
  t.same(await waiting, { kind: 'done', value: 'computed' })
})

t.test('a waiter takes over when the holder gives the lock back without a result', async (t) => {
  const { lock } = shared(t)
  const [holder, waiter] = [lock(), lock()]
  await holder.claim()
  const waiting = waiter.wait()
  await holder.release()
  t.same(await waiting, { kind: 'compute' }, 'an answer that could not be shared: the waiter computes its own')
})

t.test('no shared lock to be had: compute at once, never wait', async (t) => {
  const failing = shared(t)
  failing.chaos.fail()
  t.same(await failing.lock().claim(), { kind: 'compute' }, 'the store fails')
  t.same(await failing.lock().claim(), { kind: 'compute' }, 'the circuit is open')

  const replica = shared(t, new ChaosStore({ readOnly: true }))
  t.same(await replica.lock().claim(), { kind: 'compute' }, 'a replica takes no lock')

  const lockless = shared(t, new ChaosStore({ locks: false }))
  t.same(await lockless.lock().claim(), { kind: 'compute' }, 'a store without locks')

  const hung = shared(t, new ChaosStore(), 20)
  hung.chaos.hang(['acquireLock'])
  t.same(await hung.lock().claim(), { kind: 'compute' }, 'a lock that hangs is given up after the operation budget')
})
