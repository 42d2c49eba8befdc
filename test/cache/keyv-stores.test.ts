/**
 * Issue 16 item 4: the stores the README promises. A Keyv instance is accepted by the types (this
 * file compiles under strict TypeScript in `npm test`) and counted by health(); third-party Keyv
 * adapters that hand back strings for Buffers (@keyv/redis) or keep values in a file (keyv-file)
 * serve hits, because entries reach any store but ours as text.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import KeyvRedis from '@keyv/redis'
import Keyv from 'keyv'
import { KeyvFile } from 'keyv-file'
import t from 'tap'
import { MemoryStore } from '../../adapters/memory.js'
import { eventually, harness, settled, sharedRedis } from './harness.js'

t.test('a Keyv instance as the store: hits, and health() counts its keys', async (t) => {
  const store = new Keyv({ store: new MemoryStore() })
  const h = await harness(t, { kind: 'memory', cache: { store } })
  t.equal((await h.get('/data')).xcache, 'MISS')
  t.ok(await settled(h.cache), 'the entry was stored')
  t.equal((await h.get('/data')).xcache, 'HIT')
  t.ok(await eventually(async () => (await h.cache.health()).keys_count === 1), 'keys_count through the Keyv instance')
  t.equal(await h.cache.invalidate('data'), 1, 'invalidate reaches the adapter inside, under Keyv\'s namespace')
  t.equal((await h.get('/data')).xcache, 'MISS')
})

t.test('a Keyv instance over @keyv/redis: hits, and health() counts through its iterator', async (t) => {
  const server = await sharedRedis()
  const store = new Keyv({ store: new KeyvRedis(server.url), namespace: `kv${Date.now()}` })
  const h = await harness(t, { kind: 'memory', cache: { store } })
  await h.get('/data')
  // One request after the write, not a poll: a poll's MISS would compute again.
  t.ok(await settled(h.cache), 'the entry was stored')
  t.equal((await h.get('/data')).xcache, 'HIT', 'a hit')
  t.equal(h.calls(), 1)
  t.equal((await h.cache.health()).keys_count, 1)
})

t.test('@keyv/redis as the store: entries survive, every request after the first is a hit', async (t) => {
  const server = await sharedRedis()
  const h = await harness(t, { kind: 'memory', cache: { store: new KeyvRedis(server.url) } })
  const first = await h.get('/data')
  t.ok(await settled(h.cache), 'the entry was stored')
  t.equal((await h.get('/data')).xcache, 'HIT', 'a hit, not a MISS each time')
  const again = await h.get('/data')
  t.equal(again.text, first.text, 'the very bytes')
  t.equal(h.calls(), 1)
  t.equal((await h.cache.health()).store_errors, 0)
  t.equal(await h.cache.invalidate('data'), 1, 'invalidate finds the entry through the adapter')
})

t.test('keyv-file as the store: hits, and the entries outlive the process\'s store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kbc-keyv-file-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const filename = join(dir, 'cache.json')
  const first = await harness(t, { kind: 'memory', cache: { store: new KeyvFile({ filename, writeDelay: 10 }) } })
  const answer = await first.get('/data')
  t.ok(await settled(first.cache), 'the entry was stored')
  t.equal((await first.get('/data')).xcache, 'HIT')
  // A second cache on a fresh KeyvFile reads what the first wrote to disk, through its serializer.
  t.ok(await eventually(async () => [...(await new KeyvFile({ filename }).keys())].length > 0), 'written to disk')
  const reread = await harness(t, { kind: 'memory', clock: first.clock, cache: { store: new KeyvFile({ filename }), namespace: first.namespace } })
  const hit = await reread.get('/data')
  t.equal(hit.xcache, 'HIT', 'read back from the file')
  t.equal(hit.text, answer.text)
  t.equal(reread.calls(), 0)
})
