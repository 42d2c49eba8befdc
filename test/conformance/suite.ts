/**
 * One conformance suite for Keyv storage adapters, in the manner of
 * @keyv/test-suite: each group is a registration function taking the tap test
 * and a factory. A fresh store and random keys per test, so groups can run in
 * any order and against a shared server.
 */
import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { KeyvStoreAdapter } from 'keyv'
import { keyv5, keyvVersions, type KeyvLike, type KeyvVersion } from './keyv-versions.js'

export interface StoreTarget {
  /** A new store instance; the suite disconnects it after each test. */
  make(): Promise<KeyvStoreAdapter> | KeyvStoreAdapter
  /** The raw adapter returns a Buffer byte for byte (not only through Keyv's serializer). */
  rawBinary?: boolean
}

/** A group that uses Keyv runs once per Keyv major; `keyv` defaults to Keyv 5. */
/** A TTL that expires within a test yet outlives a stall between a set and the next read. */
const SHORT_TTL = 500

type Group = (t: Test, target: StoreTarget, keyv?: KeyvVersion) => void

const key = (label = 'k'): string => `conf-${label}-${randomUUID()}`

/**
 * A new store, connected when it says how to wait for that (RedisStore.ready()): the groups test
 * what a store does once up, and a first command on a busy machine can outrun the connection.
 */
async function made(target: StoreTarget): Promise<KeyvStoreAdapter> {
  const store = await target.make()
  await (store as { ready?: () => Promise<unknown> }).ready?.()
  return store
}

async function fresh(t: Test, target: StoreTarget): Promise<KeyvStoreAdapter> {
  const store = await made(target)
  t.teardown(() => store.disconnect?.())
  return store
}

async function freshKeyv(
  t: Test,
  target: StoreTarget,
  version: KeyvVersion,
  namespace = `ns${randomUUID().slice(0, 8)}`,
): Promise<KeyvLike> {
  const keyv = version.create({ store: await made(target), namespace })
  t.teardown(() => keyv.disconnect())
  return keyv
}

/** Polls until `check` is true or `ms` passes; TTL expiry is observed, never assumed from a sleep. */
async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return check()
}

export const basic: Group = (t, target, version = keyv5) => {
  t.test('basic: set, get, has, delete on the adapter and through Keyv', async (t) => {
    const store = await fresh(t, target)
    const k = key()
    t.equal(await store.get(k), undefined, 'missing key reads undefined')
    await store.set(k, 'value-1')
    t.equal(await store.get(k), 'value-1')
    await store.set(k, 'value-2')
    t.equal(await store.get(k), 'value-2', 'set overwrites')
    if (store.has) t.equal(await store.has(k), true)
    t.equal(await store.delete(k), true, 'delete of a present key is true')
    t.equal(await store.delete(k), false, 'delete of a missing key is false')
    t.equal(await store.get(k), undefined)
    if (store.has) t.equal(await store.has(k), false)

    const keyv = await freshKeyv(t, target, version)
    await keyv.set('obj', { a: 1, list: [1, 'two'], nested: { ok: true } })
    t.same(await keyv.get('obj'), { a: 1, list: [1, 'two'], nested: { ok: true } })
    t.equal(await keyv.has('obj'), true)
    t.equal(await keyv.delete('obj'), true)
    t.equal(await keyv.get('obj'), undefined)
  })
}

export const ttl: Group = (t, target, version = keyv5) => {
  t.test('ttl: values expire after their TTL in ms, others stay', async (t) => {
    const store = await fresh(t, target)
    const short = key('short')
    const long = key('long')
    const forever = key('forever')
    // Long enough that a busy machine still reads it back before it expires.
    await store.set(short, 'a', SHORT_TTL)
    await store.set(long, 'b', 60_000)
    await store.set(forever, 'c')
    t.equal(await store.get(short), 'a', 'readable before expiry')
    t.ok(await eventually(async () => (await store.get(short)) === undefined), 'short TTL expired')
    t.equal(await store.get(long), 'b', 'long TTL still there')
    t.equal(await store.get(forever), 'c', 'no TTL never expires')

    const keyv = await freshKeyv(t, target, version)
    await keyv.set('x', 1, SHORT_TTL)
    t.equal(await keyv.get('x'), 1)
    t.ok(await eventually(async () => (await keyv.get('x')) === undefined), 'expires through Keyv too')
  })
}

export const binary: Group = (t, target, version = keyv5) => {
  t.test('binary: every byte value survives', async (t) => {
    const bytes = Buffer.alloc(70_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff
    const edge = [Buffer.alloc(0), Buffer.from([0xff]), Buffer.from([0x00, 0xff, 0xfe]), bytes]
    const keyv = await freshKeyv(t, target, version)
    for (const [i, value] of edge.entries()) {
      await keyv.set(`b${i}`, value)
      const back = await keyv.get(`b${i}`)
      t.ok(Buffer.isBuffer(back) && back.equals(value), `through Keyv, case ${i}`)
    }
    if (!target.rawBinary) return
    const store = await fresh(t, target)
    for (const [i, value] of edge.entries()) {
      const k = key(`raw${i}`)
      await store.set(k, value)
      const back = await store.get<Buffer>(k)
      t.ok(Buffer.isBuffer(back) && back.equals(value), `raw adapter, case ${i}`)
    }
    const text = key('text')
    await store.set(text, 'ÿ is not a tag: plain text stays a string')
    t.equal(await store.get(text), 'ÿ is not a tag: plain text stays a string')
  })
}

export const batch: Group = (t, target, version = keyv5) => {
  t.test('batch: getMany, setMany, hasMany, deleteMany keep order and report presence', async (t) => {
    const store = await fresh(t, target)
    const keys = [key('m1'), key('m2'), key('m3')]
    t.ok(store.getMany && store.setMany && store.deleteMany, 'adapter offers the batch members')
    await store.setMany!([
      { key: keys[0]!, value: 'one' },
      { key: keys[2]!, value: 'three', ttl: 60_000 },
    ])
    t.same(await store.getMany!(keys), ['one', undefined, 'three'], 'order kept, missing is undefined')
    if (store.hasMany) t.same(await store.hasMany(keys), [true, false, true])
    t.equal(await store.deleteMany!(keys), true, 'deleteMany reports that something went')
    t.same(await store.getMany!(keys), [undefined, undefined, undefined])
    t.equal(await store.deleteMany!(keys), false, 'nothing left to delete')

    const keyv = await freshKeyv(t, target, version)
    await keyv.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ])
    t.same(await keyv.getMany(['a', 'missing', 'b']), [1, undefined, 2])
    await keyv.deleteMany(['a', 'b'])
    t.same(await keyv.getMany(['a', 'b']), [undefined, undefined])
  })
}

export const namespaces: Group = (t, target, version = keyv5) => {
  t.test('namespace: two Keyv namespaces on one backend do not see or clear each other', async (t) => {
    const ns = randomUUID().slice(0, 8)
    const one = await freshKeyv(t, target, version, `one${ns}`)
    const two = await freshKeyv(t, target, version, `two${ns}`)
    await one.set('shared-name', 'from one')
    await two.set('shared-name', 'from two')
    t.equal(await one.get('shared-name'), 'from one')
    t.equal(await two.get('shared-name'), 'from two')
    await one.clear()
    t.equal(await one.get('shared-name'), undefined, 'cleared in its own namespace')
    t.equal(await two.get('shared-name'), 'from two', 'the other namespace survives clear()')
  })
}

export const iterator: Group = (t, target) => {
  t.test('iterator: yields every live entry of the namespace, and only those', async (t) => {
    const ns = `it${randomUUID().slice(0, 8)}`
    const store = await fresh(t, target)
    t.ok(typeof store.iterator === 'function', 'adapter has iterator()')
    const mine = new Map([
      [`${ns}:a`, 'A'],
      [`${ns}:b`, 'B'],
      [`${ns}:c`, 'C'],
    ])
    for (const [k, v] of mine) await store.set(k, v)
    await store.set(`other${ns}:a`, 'not mine')
    const seen = new Map<string, unknown>()
    for await (const [k, v] of store.iterator!(ns)) seen.set(String(k), v)
    t.same(Object.fromEntries(seen), Object.fromEntries(mine))
  })
}

export const clear: Group = (t, target) => {
  t.test('clear: removes the namespace set by Keyv, keeps keys outside it', async (t) => {
    const ns = `cl${randomUUID().slice(0, 8)}`
    const store = await fresh(t, target)
    store.namespace = ns
    const outside = key('outside')
    for (let i = 0; i < 1200; i++) await store.set(`${ns}:${i}`, String(i))
    await store.set(outside, 'stays')
    await store.clear()
    t.equal(await store.get(`${ns}:0`), undefined)
    t.equal(await store.get(`${ns}:1199`), undefined, 'every batch of the namespace went')
    t.equal(await store.get(outside), 'stays')
    await store.delete(outside)
  })
}

export const disconnect: Group = (t, target, version = keyv5) => {
  t.test('disconnect: resolves, and is safe to call through Keyv', async (t) => {
    const keyv = version.create({ store: await made(target) })
    await keyv.set('x', 'y')
    await t.resolves(keyv.disconnect())
  })
}

export const errors: Group = (t, target, version = keyv5) => {
  t.test('errors: the adapter is an event emitter whose error events reach Keyv', async (t) => {
    const store = await fresh(t, target)
    const keyv = version.create({ store })
    const seen: unknown[] = []
    keyv.on('error', (error: unknown) => seen.push(error))
    const boom = new Error('boom')
    ;(store as unknown as { emit(event: string, value: unknown): boolean }).emit('error', boom)
    t.same(seen, [boom])
  })
}

export const keyvKeys: Group = (t, target, version = keyv5) => {
  t.test('keyv keys: what Keyv writes stays in its namespace, and its clear() takes only that', async (t) => {
    const store = await made(target)
    const ns = `kk${randomUUID().slice(0, 8)}`
    const keyv = version.create({ store, namespace: ns })
    t.teardown(() => keyv.disconnect())
    const outside = key('outside')
    await store.set(outside, 'stays')
    await keyv.set('m1', 1)
    t.equal(await keyv.get('m1'), 1)
    t.equal(await store.get('m1'), undefined, 'not stored under the bare key')
    if (store.iterator) {
      const stored: unknown[] = []
      for await (const [k] of store.iterator(ns)) stored.push(k)
      t.same(stored, [`${ns}${version.separator}m1`], 'prefixed once, by Keyv')
    }
    await keyv.clear()
    t.equal(await keyv.get('m1'), undefined, 'clear() took the namespace')
    t.equal(await store.get(outside), 'stays', 'and nothing outside it')
    await store.delete(outside)
  })
}

export const prefixedByKeyv: Group = (t, target) => {
  t.test('prefixed by Keyv: no namespace property until Keyv 5 sets one', async (t) => {
    // Keyv 6 checks `'namespace' in store` and, when true, leaves prefixing to the store (issue 13).
    const store = await fresh(t, target)
    t.notOk('namespace' in store, 'Keyv 6 will prefix the keys itself')
  })
}

export const keyvIterator: Group = (t, target, version = keyv5) => {
  t.test('keyv iterator: where Keyv builds one, it yields its own keys, unprefixed', async (t) => {
    const ns = randomUUID().slice(0, 8)
    const mine = await freshKeyv(t, target, version, `ki${ns}`)
    const other = await freshKeyv(t, target, version, `ki${ns}x`)
    if (!mine.iterator) return void t.pass(`${version.name} builds no iterator for this store`)
    await mine.set('a', 1)
    await mine.set('b', { two: 2 })
    await other.set('c', 'not mine')
    const seen: Record<string, unknown> = {}
    for await (const [k, v] of mine.iterator()) seen[String(k)] = v
    t.same(seen, { a: 1, b: { two: 2 } })
  })
}

export const allGroups: Group[] = [
  basic,
  ttl,
  binary,
  batch,
  namespaces,
  keyvKeys,
  keyvIterator,
  iterator,
  clear,
  prefixedByKeyv,
  disconnect,
  errors,
]

/** These drive the adapter alone, so they run once rather than once per Keyv major. */
const adapterOnly = new Set<Group>([iterator, clear, prefixedByKeyv])

export function storeConformance(t: Test, target: StoreTarget, groups: Group[] = allGroups): void {
  for (const group of groups) if (adapterOnly.has(group)) group(t, target)
  for (const version of keyvVersions) {
    t.test(`through ${version.name}`, { skip: version.skip }, async (t) => {
      for (const group of groups) if (!adapterOnly.has(group)) group(t, target, version)
    })
  }
}
