/**
 * Issue 19, item 5: an answer computed while the store is failing is kept in the fallback, so the
 * next request is served from memory instead of computing again: neither the circuit opening
 * during the computation nor a probe failing meanwhile (open, half-open, open) may throw it away.
 */
import t from 'tap'
import { engineOf } from '../../src/cache/engine.js'
import { MemoryStore } from '../../adapters/memory.js'
import { harness, eventually, type Harness } from '../cache/harness.js'

/** A MemoryStore that fails every operation while `down`, as an unreachable Redis would. */
class DownStore extends MemoryStore {
  down = false
  constructor() {
    super()
    for (const name of ['get', 'getMany', 'set', 'delete', 'deletePrefix', 'readGenerations', 'setIfGenerations'] as const) {
      const own = (this as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]!.bind(this)
      ;(this as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        if (this.down) throw new Error('connect ECONNREFUSED')
        return own(...args)
      }
    }
    // The hit path reads an in-process store at once (readNow): it fails too, synchronously.
    const readNow = this.readNow.bind(this)
    this.readNow = (keys: string[]) => {
      if (this.down) throw new Error('connect ECONNREFUSED')
      return readNow(keys)
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('an answer computed while probes fail is served from the fallback next time', async (t) => {
  const store = new DownStore()
  store.down = true
  const h = await harness(t, {
    kind: 'memory',
    cache: { store, failureThreshold: 1, probeInterval: 10 },
    // Several probe cycles (open, half-open, open) pass during the computation.
    handler: async (ctx, call) => {
      await sleep(150)
      ctx.body = { call }
    },
  })
  t.equal((await h.get('/data')).status, 200)
  t.equal(engineOf(h.cache).store.state === 'closed', false, 'the circuit is not closed')
  t.ok(await eventually(() => engineOf(h.cache).flights.size === 0), 'the write settled')
  const next = await h.get('/data')
  t.equal(next.xcache, 'HIT', 'served from the fallback')
  t.equal(h.calls(), 1, 'computed once')
})

t.test('an answer whose read the primary failed is kept when the circuit opens during the computation', async (t) => {
  const store = new DownStore()
  // Two failures open it: the lookup's, then (the request spends no second budget on the generation
  // read, which goes to the fallback) another operation's while the handler runs, as a concurrent request's would.
  const h: Harness = await harness(t, {
    kind: 'memory',
    cache: { store, failureThreshold: 2, probeInterval: 60_000 },
    handler: async (ctx, call) => {
      await engineOf(h.cache).store.get('elsewhere')
      ctx.body = { call }
    },
  })
  store.down = true
  t.equal((await h.get('/data')).status, 200)
  t.equal(engineOf(h.cache).store.state, 'open')
  t.ok(await eventually(() => engineOf(h.cache).flights.size === 0), 'the write settled')
  t.equal((await h.get('/data')).xcache, 'HIT', 'served from the fallback')
  t.equal(h.calls(), 1, 'computed once')
})
