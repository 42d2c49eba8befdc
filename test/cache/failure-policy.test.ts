/**
 * The failure policy without Redis (issue 15): ResilientStore driven through its public methods,
 * options and events, over a ChaosStore that fails, hangs or answers late on demand. Each wait is
 * for an event (circuit, writes, a log line), with a generous deadline; no timing is asserted.
 * test/reliability proves the same policy against real Redis failures.
 */
import { EventEmitter } from 'node:events'
import { ReplyError } from 'ioredis'
import type { KeyvStoreAdapter } from 'keyv'
import t, { type Test } from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { ResilientStore, type CircuitState, type ResilientStoreOptions } from '../../src/cache/resilient-store.js'
import type { CacheError } from '../../src/index.js'
import { ChaosStore } from '../support/chaos-store.js'

/** Far longer than any wait here takes; only a broken policy reaches it. */
const DEADLINE_MS = 5000

interface Rig {
  store: ResilientStore
  chaos: ChaosStore
  fallback: MemoryStore
  states: CircuitState[]
  errors: CacheError[]
  /** Resolves at the first log line with this event. */
  logged(event: string): Promise<void>
  /** Resolves once the circuit reaches `state` (at once if it is there). */
  reaches(state: CircuitState): Promise<void>
  /** Resolves at the first 'writes' event saying `state`. */
  writes(state: 'refused' | 'accepted'): Promise<void>
}

function rig(t: Test, options: Partial<ResilientStoreOptions> = {}, chaos = new ChaosStore()): Rig {
  const fallback = new MemoryStore()
  const lines = new EventEmitter()
  const log = (line: object | string): void => void lines.emit('line', line)
  const store = new ResilientStore(chaos as unknown as KeyvStoreAdapter, fallback, {
    operationTimeout: 50,
    failureThreshold: 3,
    probeInterval: 60_000,
    namespace: 'ns',
    logger: { warn: log, info: log },
    ...options,
  })
  t.teardown(() => {
    store.close()
    chaos.heal()
  })
  const states: CircuitState[] = []
  const errors: CacheError[] = []
  store.on('circuit', (state: CircuitState) => states.push(state))
  store.on('store-error', (error: CacheError) => errors.push(error))
  const within = <T>(what: string, promise: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${DEADLINE_MS} ms`)), DEADLINE_MS)))
    return Promise.race([promise, late]).finally(() => clearTimeout(timer))
  }
  return {
    store, chaos, fallback, states, errors,
    logged: (event) => within(`log line ${event}`, new Promise<void>((resolve) => {
      lines.on('line', (line: { event?: string }) => line.event === event && resolve())
    })),
    writes: (state) => within(`writes ${state}`, new Promise<void>((resolve) => {
      store.on('writes', (now: string) => now === state && resolve())
    })),
    reaches: (state) => within(`circuit ${state}`, new Promise<void>((resolve) => {
      if (store.state === state) return resolve()
      store.on('circuit', (now: CircuitState) => now === state && resolve())
    })),
  }
}

t.test('failure threshold: consecutive failures open the circuit, a success in between resets the count', async (t) => {
  const { store, chaos, fallback, states, errors } = rig(t, { failureThreshold: 3 })
  chaos.fail()
  t.equal(await store.get('a'), undefined, 'a failed read is a miss, not an error')
  t.equal(await store.get('a'), undefined)
  t.equal(store.state, 'closed', 'two failures of three: still closed')
  t.same(errors.map((e) => e.code), ['E_STORE_CONNECTION', 'E_STORE_CONNECTION'], 'each failure reported, with its code and cause')
  t.equal(errors[0]!.cause instanceof Error && (errors[0]!.cause as { code?: string }).code, 'ECONNREFUSED')

  chaos.heal()
  await store.get('a')
  chaos.fail()
  await store.get('a')
  await store.get('a')
  t.equal(store.state, 'closed', 'the success reset the count')
  await store.get('a')
  t.equal(store.state, 'open', 'the third consecutive failure opens it')
  t.same(states, ['open'])

  const asked = chaos.calls.length
  t.equal(await store.set('k', 'v', 60_000), true, 'writes go to the fallback')
  t.equal(await store.get('k'), 'v', 'and reads come from it')
  t.equal(await fallback.get('k'), 'v')
  t.equal(chaos.calls.length, asked, 'while open, the primary is not asked at all')
  t.equal(store.degraded, true)
})

t.test('a hung operation fails after operationTimeout (E_STORE_TIMEOUT) and the fallback answers', async (t) => {
  const { store, chaos, fallback, errors } = rig(t, { failureThreshold: 1, operationTimeout: 20 })
  await chaos.inner.set('k', 'primary')
  await fallback.set('k', 'fallback')
  chaos.hang()
  t.equal(await store.get('k'), 'fallback', 'the answer comes from the fallback')
  t.equal(errors[0]?.code, 'E_STORE_TIMEOUT')
  t.equal(store.state, 'open')
})

t.test('an operation that answers late but within its budget is no failure', async (t) => {
  const { store, chaos, errors } = rig(t, { failureThreshold: 1, operationTimeout: 2000 })
  await chaos.inner.set('k', 'primary')
  chaos.slow(5)
  t.equal(await store.get('k'), 'primary')
  t.equal(store.state, 'closed')
  t.same(errors, [])
})

t.test('half-open probe: the circuit stays open while the probe fails, and closes once PING answers', async (t) => {
  const { store, chaos, states, reaches } = rig(t, { failureThreshold: 1, probeInterval: 5 })
  chaos.fail()
  await store.get('a')
  await reaches('half-open')
  await reaches('open')
  t.equal(store.state, 'open', 'a failed probe opens it again')
  t.ok(chaos.count('ping') >= 1, 'the probe asks PING, which needs no key')
  chaos.heal()
  await reaches('closed')
  t.same(states.slice(0, 3), ['open', 'half-open', 'open'])
  t.same(states.slice(-2), ['half-open', 'closed'], 'closed only through a successful probe')
  t.equal(store.degraded, false)
})

t.test('a store without PING is probed with a read of a key inside the namespace', async (t) => {
  const { store, chaos, reaches } = rig(t, { failureThreshold: 1, probeInterval: 5 }, new ChaosStore({ ping: false }))
  chaos.fail()
  await store.get('a')
  const before = chaos.count('get')
  chaos.heal()
  await reaches('closed')
  t.ok(chaos.count('get') > before, 'the probe read a key')
})

t.test('invalidations made while the circuit is open are replayed before the primary serves again', async (t) => {
  const { store, chaos, fallback, states, reaches } = rig(t, { failureThreshold: 1, probeInterval: 5 })
  for (const key of ['ns:a:1', 'ns:b:1', 'ns:b:2']) {
    await chaos.inner.set(key, 'old')
    await fallback.set(key, 'old')
  }
  chaos.fail()
  await store.get('ns:other:1')
  t.equal(store.state, 'open')
  t.equal(await store.invalidations.delete('ns:a:1'), true, 'the fallback copy is gone at once')
  t.equal(await store.invalidations.deletePrefix('ns:b:', (s) => s.deletePrefix!('ns:b:')), 2)
  t.equal(store.invalidations.pending, 2, 'both remembered for the primary')
  t.equal(chaos.inner.size, 3, 'the primary still holds them')

  // PING answers but the deletes still fail: the circuit must not close with them missed.
  chaos.fail(undefined, ['delete', 'deletePrefix'])
  const from = states.length
  await reaches('half-open')
  await reaches('open')
  t.same(states.slice(from, from + 2), ['half-open', 'open'], 'a replay that fails keeps it open')
  t.equal(store.invalidations.pending, 2)

  let leftAtClose = -1
  store.on('circuit', (state: CircuitState) => state === 'closed' && (leftAtClose = chaos.inner.size))
  chaos.heal()
  await reaches('closed')
  t.equal(leftAtClose, 0, 'replayed before the circuit closed: no invalidated entry comes back with the primary')
  t.equal(store.invalidations.pending, 0)
})

t.test('an invalidation that fails while the circuit is closed is retried until it lands', async (t) => {
  const { store, chaos, logged } = rig(t, { failureThreshold: 3, probeInterval: 5 })
  await chaos.inner.set('ns:a:1', 'old')
  chaos.fail(undefined, ['delete'])
  await store.invalidations.delete('ns:a:1')
  t.equal(store.state, 'closed', 'one failure does not open it')
  t.equal(store.invalidations.pending, 1)
  const complete = logged('cache_invalidation_complete')
  chaos.heal()
  await complete
  t.equal(store.invalidations.pending, 0)
  t.equal(await chaos.inner.get('ns:a:1'), undefined)
})

t.test('a replica: writes are skipped, the answer is kept locally, and reads find it', async (t) => {
  const { store, chaos, fallback, errors } = rig(t, {}, new ChaosStore({ readOnly: true }))
  t.equal(await store.set('k', 'computed', 60_000), true, 'kept')
  t.equal(await chaos.inner.get('k'), undefined, 'not written to the replica')
  t.equal(await fallback.get('k'), 'computed', 'a replica-local copy')
  t.equal(await store.get('k'), 'computed', 'read back: this instance does not compute it again')
  await chaos.inner.set('p', 'from the primary')
  await fallback.set('p', 'local')
  t.equal(await store.get('p'), 'from the primary', 'what the primary holds wins over the local copy')
  t.equal(store.state, 'closed')
  t.same(errors, [])
})

t.test('a writable primary keeps no local copy', async (t) => {
  const { store, chaos, fallback } = rig(t)
  t.equal(await store.set('k', 'v', 60_000), true)
  t.equal(await chaos.inner.get('k'), 'v')
  t.equal(await fallback.get('k'), undefined)
})

t.test('out of memory: refused writes are kept locally with the circuit closed, until a write probe succeeds', async (t) => {
  const { store, chaos, fallback, errors, writes } = rig(t, { failureThreshold: 1, probeInterval: 5 })
  chaos.fail(() => new ReplyError("OOM command not allowed when used memory > 'maxmemory'."), ['set'])
  t.equal(await store.set('k', 'v', 60_000), true)
  t.equal(store.state, 'closed', 'reads still work: the circuit stays closed')
  t.equal(store.writesRefused?.code, 'E_STORE_OOM')
  t.equal(errors[0]?.code, 'E_STORE_OOM')
  t.equal(await fallback.get('k'), 'v', 'kept locally')
  const resumed = writes('accepted')
  chaos.heal()
  await resumed // the write probe notices the end

  t.equal(store.writesRefused, undefined)
})

t.test('no operation throws to its caller, whatever the primary does', async (t) => {
  const { store, chaos } = rig(t, { failureThreshold: 100, operationTimeout: 10 })
  for (const act of [() => chaos.fail(), () => chaos.hang()]) {
    act()
    await t.resolves(store.get('k'))
    await t.resolves(store.getMany(['k', 'j']))
    await t.resolves(store.set('k', 'v', 1000))
    await t.resolves(store.readGenerations(['ns!gen']))
    // An invalidation may walk a whole keyspace: it has a budget of its own (30 s), not a request's.
    if (chaos.count('delete') === 0) {
      await t.resolves(store.invalidations.delete('k'))
      await t.resolves(store.invalidations.deletePrefix('ns:', (s) => s.deletePrefix!('ns:')))
    }
    chaos.heal()
  }
})

t.test('an in-process primary is read at once (readNow); a read that throws goes to getMany, which records it and falls back', async (t) => {
  const primary = new MemoryStore()
  await primary.set('k', 'v')
  const read = primary.readNow.bind(primary)
  let throwing = false
  primary.readNow = (keys) => {
    if (throwing) throw new Error('lost its memory')
    return read(keys)
  }
  const fallback = new MemoryStore()
  await fallback.set('k', 'from the fallback')
  const store = new ResilientStore(primary, fallback, { operationTimeout: 50, failureThreshold: 1, probeInterval: 60_000, logger: { warn: () => {} } })
  t.teardown(() => store.close())
  const errors: CacheError[] = []
  store.on('store-error', (error: CacheError) => errors.push(error))

  t.same(store.getManyNow(['k', 'j']), ['v', undefined], 'answered without a promise')
  t.ok(store.lastSeen, 'a read at once counts as the primary answering')
  throwing = true
  t.equal(store.getManyNow(['k', 'j']), undefined, 'a throwing read leaves the answer to getMany')
  t.same(errors, [], 'and is not counted twice')
  t.same(await store.getMany(['k', 'j']), ['from the fallback', undefined], 'getMany fails over as for any store')
  t.equal(errors.length, 1)
  t.equal(store.state, 'open')
  throwing = false
  t.equal(store.getManyNow(['k', 'j']), undefined, 'nothing is read at once while the circuit is open')
})
