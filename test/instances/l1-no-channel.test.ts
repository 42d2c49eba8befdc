// The in-process tier in front of a store that offers no invalidation channel (a plain Keyv
// store): other instances could not reach its copies, so it stays off, says so once, and the
// cache keeps serving from the store.
import t from 'tap'
import { PlainStore } from '../cache/plain-store.js'
import { harness, quietLogger } from '../cache/harness.js'

t.test('no pub/sub on the store: the in-process tier is off, with one warning, and hits come from the store', async (t) => {
  const logger = quietLogger()
  const store = new PlainStore()
  const h = await harness(t, { kind: 'memory', logger, cache: { store, l1: { maxBytes: 1 << 20 } } })
  const off = logger.lines.filter((line) => (line.obj as { event?: string } | undefined)?.event === 'cache_l1_off')
  t.equal(off.length, 1, 'one warning')
  t.match(off[0], { level: 'warn', obj: { reason: 'no invalidation channel' } })
  t.equal((await h.get('/data')).xcache, 'MISS')
  const hit = await h.get('/data')
  t.equal(hit.xcache, 'HIT', 'served from the store')
  t.equal(h.calls(), 1)
  t.ok(store.map.size > 0, 'the entry is in the store')
  const l1 = (await h.cache.health()).l1
  t.equal(l1?.entries, 0, 'no local copy kept')
  t.equal(l1?.hits, 0, 'none served')
  t.equal(l1?.channel, 'local', 'no channel')
})
