/**
 * `client` takes an ioredis client of the application's own ioredis major (6 on npm today), not
 * only an instance of this package's ioredis 5 class. A client of another major has the same
 * members but other classes, which TypeScript told apart by their private members (TS2322).
 * The type check is the first half of this test (`npm run typecheck` covers test/); the second
 * runs the store through such a client on a real Redis.
 */
import { Redis } from 'ioredis'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { redisFor } from '../support/redis.js'

/** What TypeScript sees of another ioredis's client: the public members, none of our class's private ones. */
type ForeignRedis = { [K in keyof Redis]: Redis[K] }

t.test('a client typed as another ioredis major is accepted and used', async (t) => {
  const server = await redisFor(t)
  const client: ForeignRedis = new Redis(server.url)
  const store = new RedisStore({ client })
  t.teardown(() => store.disconnect())
  t.equal(await store.ready(), true)
  t.equal(store.cluster, false)
  await store.set('foreign:a', Buffer.from('hello'), 10_000)
  t.equal(String(await store.get('foreign:a')), 'hello')
  t.equal(await store.countPrefix('foreign:'), 1)
})

t.test('anything else is still refused at construction, naming the option', async (t) => {
  t.throws(() => new RedisStore({ client: {} as never }), { code: 'E_OPTION', message: /RedisStore\.client/ })
})
