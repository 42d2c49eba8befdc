import t from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { storeConformance } from '../conformance/suite.js'

storeConformance(t, { make: () => new MemoryStore(), rawBinary: true })

t.test('byte budget: total stays under maxBytes, least recently used goes first', async (t) => {
  const store = new MemoryStore({ maxBytes: 64 * 1024 })
  const value = Buffer.alloc(1000, 1)
  for (let i = 0; i < 500; i++) await store.set(`k${i}`, value)
  t.ok(store.bytes <= 64 * 1024, `bytes ${store.bytes} within budget`)
  t.ok(store.size < 500, 'older entries were evicted')
  t.equal(await store.get('k0'), undefined, 'the oldest went')
  t.ok(Buffer.isBuffer(await store.get('k499')), 'the newest stayed')
  const info = await store.info()
  t.equal(info.memory.max, 64 * 1024)
  t.equal(info.memory.used, store.bytes)
  t.equal(info.keys, store.size)
})

t.test('a value larger than the whole budget is refused and not stored', async (t) => {
  const store = new MemoryStore({ maxBytes: 4096 })
  await store.set('big', 'old')
  t.equal(await store.set('big', Buffer.alloc(8192)), false)
  t.equal(await store.get('big'), undefined, 'no stale value left behind either')
})

t.test('entry cap: never more than maxEntries', async (t) => {
  const store = new MemoryStore({ maxEntries: 10 })
  for (let i = 0; i < 50; i++) await store.set(`k${i}`, 'v')
  t.equal(store.size, 10)
  t.equal(await store.get('k49'), 'v')
})

t.test('string sizes count toward the budget too', async (t) => {
  const store = new MemoryStore({ maxBytes: 100_000 })
  for (let i = 0; i < 100; i++) await store.set(`s${i}`, 'x'.repeat(5000))
  t.ok(store.bytes <= 100_000)
  t.ok(store.size <= 10)
})

t.test('deletePrefix and countPrefix touch only the prefix', async (t) => {
  const store = new MemoryStore()
  for (let i = 0; i < 5; i++) await store.set(`a:${i}`, 'x')
  await store.set('ab:1', 'y')
  t.equal(await store.countPrefix('a:'), 5)
  t.equal(await store.deletePrefix('a:'), 5)
  t.equal(await store.get('ab:1'), 'y')
})

t.test('malformed options name the option', async (t) => {
  t.throws(() => new MemoryStore({ maxBytes: -1 }), { code: 'E_OPTION', message: /MemoryStore\.maxBytes/ })
  t.throws(() => new MemoryStore({ maxEntries: 1.5 }), { message: /MemoryStore\.maxEntries/ })
  // A misspelt budget would otherwise leave the default 64 MiB in force without a word.
  t.throws(() => new MemoryStore({ maxbytes: 5 } as never), { code: 'E_OPTION', option: 'MemoryStore.maxbytes', message: /unknown option MemoryStore\.maxbytes; the options are maxBytes, maxEntries/ })
})

t.test('undefined or null deletes; clear() and the iterator without a namespace cover every key', async (t) => {
  const store = new MemoryStore()
  await store.set('ns:a', 'x')
  await store.set('other:b', 'y')
  t.equal(await store.set('ns:a', null), true, 'storing null is a delete that succeeds')
  t.equal(await store.has('ns:a'), false)
  await store.set('ns:a', 'x')
  t.equal(await store.set('ns:a', undefined), true)
  t.equal(await store.get('ns:a'), undefined, 'so is undefined')

  await store.set('ns:c', 'z')
  const all: Record<string, unknown> = {}
  for await (const [key, value] of store.iterator()) all[key] = value
  t.same(all, { 'other:b': 'y', 'ns:c': 'z' }, 'no namespace: every key')
  store.namespace = 'ns'
  await store.clear()
  t.same([await store.get('ns:c'), await store.get('other:b')], [undefined, 'y'], 'a namespace: only its keys')
  store.namespace = undefined
  await store.clear()
  t.equal(store.size, 0, 'no namespace: everything')
})
