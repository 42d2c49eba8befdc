/**
 * Real Redis for the benchmarks, from the test launcher (test/support/redis.ts): a redis-server
 * started from PATH (or Docker, or TEST_REDIS_URL), stopped at the end of the run.
 */
import { startRedis, type RedisServer } from '../../test/support/redis.js'

export type { RedisServer }

let shared: Promise<RedisServer> | undefined

/** One server shared by the scenarios that only read and write (key prefixes keep them apart). */
export function sharedRedis(): Promise<RedisServer> {
  shared ??= startRedis()
  return shared
}

/** A server of its own, for scenarios that pause or kill it. */
export function ownRedis(): Promise<RedisServer> {
  return startRedis()
}

export async function stopSharedRedis(): Promise<void> {
  if (!shared) return
  const server = await shared.catch(() => undefined)
  shared = undefined
  await server?.stop()
}
