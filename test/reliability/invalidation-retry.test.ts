/**
 * An invalidation the primary fails while the circuit stays closed (one
 * failure, below the threshold) gets no probe to replay it: it is retried
 * until it lands, so the entry does not survive in the store.
 */
import t from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { harness, eventually } from '../cache/harness.js'
import { engineOf } from '../../src/cache/engine.js'

/** A MemoryStore whose next prefix delete fails, as a store hiccup would. */
class HiccupStore extends MemoryStore {
  failNext = false
  override async deletePrefix(prefix: string): Promise<number> {
    if (this.failNext) {
      this.failNext = false
      throw new Error('connection reset')
    }
    return super.deletePrefix(prefix)
  }
}

t.test('a failed invalidation is retried while the circuit stays closed', async (t) => {
  const store = new HiccupStore()
  const h = await harness(t, { kind: 'memory', cache: { store, failureThreshold: 3, probeInterval: 50 } })
  await h.get('/data')
  t.ok(await eventually(async () => (await h.get('/data')).xcache === 'HIT'))
  store.failNext = true
  await h.cache.invalidate('data')
  t.equal(engineOf(h.cache).store.state, 'closed', 'one failure does not open the circuit')
  t.ok(await eventually(() => h.cache.pendingInvalidations === 0), 'retried until it landed')
  t.equal(await store.countPrefix(`${h.namespace}:`), 0, 'nothing of the route is left in the store')
  t.equal((await h.get('/data')).xcache, 'MISS')
})
