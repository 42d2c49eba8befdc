/**
 * Driving the energy service (benchmarks/servers/energy-server.ts) from a scenario: uncached
 * answers go through the whole stack as a miss after an invalidation, not around the cache, so
 * they cost what a user's first request of a bucket costs.
 */
import { get } from './load.js'
import type { ServerProcess } from './server-process.js'

export const ENERGY_ENDPOINTS = ['gradient', 'monitor', 'calibrate'] as const

/** One uncached answer: the endpoint is invalidated, so this request misses and computes. Its ms. */
export async function uncachedOnce(server: ServerProcess, endpoint: string): Promise<number> {
  await server.call('invalidate', endpoint)
  const answer = await get(`${server.url}/energy/${endpoint}`)
  if (answer.status !== 200) throw new Error(`${endpoint} uncached answered ${answer.status}`)
  if (answer.headers['x-cache'] !== 'MISS') throw new Error(`${endpoint}: the request after an invalidation was ${String(answer.headers['x-cache'])}, not MISS`)
  return answer.ms
}

/**
 * Each worker thread builds its population on its first task (then keeps it): one untimed
 * computation of every endpoint at once, so that every worker of a two-thread pool has had one.
 */
export async function warmWorkers(server: ServerProcess): Promise<void> {
  await Promise.all(ENERGY_ENDPOINTS.map((endpoint) => uncachedOnce(server, endpoint)))
}
