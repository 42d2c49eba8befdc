/**
 * ioredis sends CLIENT SETINFO (LIB-NAME, LIB-VER) on every connection unless told not to. Redis
 * 7.2+ refuses it for an ACL user without +client (README's restricted user), filling ACL LOG;
 * Redis 7.0 does not know the subcommand. RedisStore and its pub/sub subscriber send neither:
 * a server of this test's own counts no new error reply, and CLIENT LIST shows no lib-name.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { RedisStore } from '../../adapters/redis.js'
import { waitUntil } from '../support/probe.js'
import { redisFor } from '../support/redis.js'

const quiet = { warn() {}, info() {} }

t.test('RedisStore and its subscriber connect without CLIENT SETINFO', async (t) => {
  const redis = await redisFor(t)
  // The observer itself must not send it either.
  const observer = new Redis(redis.url, { disableClientInfo: true })
  t.teardown(() => observer.quit())
  const errorReplies = async (): Promise<number> => Number(/total_error_replies:(\d+)/.exec(await observer.info('stats'))?.[1])
  // The launcher's own probes may have sent some: count from here.
  const before = await errorReplies()

  const store = new RedisStore({ url: redis.url, logger: quiet })
  t.teardown(() => store.disconnect())
  t.ok(await store.ready())
  t.equal((store.client.options as { disableClientInfo?: boolean }).disableClientInfo, true, 'the option reaches the client')
  const pubsub = store.pubsub()
  t.teardown(() => pubsub.close())
  let subscribed = false
  await pubsub.subscribe('client-info', () => {}, (state) => (subscribed = state === 'subscribed'))
  await waitUntil('subscribed', async () => subscribed)
  await store.set('k', 'v')

  const clients = await observer.client('LIST')
  t.equal(String(clients).trim().split('\n').length, 3, 'the observer, the store and its subscriber')
  t.notMatch(String(clients), /lib-name=ioredis/, 'no client named its library')
  t.equal(await errorReplies(), before, 'no refused CLIENT SETINFO (Redis 7.0: unknown subcommand; 7.2+ without +client: NOPERM)')
})
