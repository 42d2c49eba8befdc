/**
 * The codes of a live Redis going away, read from the errors ioredis really raises (the unit tests in
 * store-errors.test.ts build errors by hand): a killed server is E_STORE_CONNECTION, whichever of
 * ioredis's own errors the command met on its way out.
 */
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { asStoreError } from '../../adapters/store-errors.js'
import { redisFor } from '../support/redis.js'

t.test('commands sent to a killed Redis fail as E_STORE_CONNECTION', async (t) => {
  const server = await redisFor(t)
  const store = new RedisStore({ url: server.url, operationTimeout: 1000 })
  t.teardown(() => store.disconnect())
  await store.set('k', 'v')
  await server.kill()
  const codes = new Set<string>()
  const messages = new Set<string>()
  // While ioredis reconnects, a command meets either the closing socket or the not-writeable stream.
  const deadline = Date.now() + 5000
  while (Date.now() < deadline && codes.size < 10) {
    try {
      await store.get('k')
    } catch (error) {
      codes.add(asStoreError(error, 'get').code)
      messages.add(String((error as Error).message))
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    if (messages.size > 0 && [...messages].some((m) => m.includes("isn't writeable"))) break
  }
  t.ok(codes.size > 0, `commands failed (${[...messages].join(' | ')})`)
  t.same([...codes], ['E_STORE_CONNECTION'], `every failure is a connection failure (${[...messages].join(' | ')})`)
})
