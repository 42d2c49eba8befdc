/** The cases of the hit-throughput scenario, shared by its server script and its runner. */
export const HIT_CASES = [
  'ceiling',
  'ceiling-headers',
  'cache-memory',
  'cache-redis',
  'cache-redis-l1',
  'cache-redis-single-get',
  'cache-redis-unpipelined',
  'koa-cash-memory',
  'koa-cash-redis',
  'keyv-redis',
  'keyv-redis-object',
  'bento-memory',
  'bento-redis',
  'redis-get',
  'node-redis-get',
] as const
export type HitCase = (typeof HIT_CASES)[number]

export const HIT_CASE_LABELS: Record<HitCase, string> = {
  ceiling: 'ceiling: prepared Buffer, no cache, no headers (reference)',
  'ceiling-headers': 'ceiling: prepared Buffer with the four headers a hit sends',
  'cache-memory': 'koa-bucket-cache, MemoryStore',
  'cache-redis': 'koa-bucket-cache, RedisStore',
  'cache-redis-l1': 'koa-bucket-cache, RedisStore with the in-process tier (l1)',
  'cache-redis-single-get': 'koa-bucket-cache, RedisStore, stale: 0 (one GET; diagnostic)',
  'cache-redis-unpipelined': 'koa-bucket-cache, RedisStore on an ioredis without auto-pipelining (diagnostic)',
  'koa-cash-memory': 'koa-cash, lru-cache',
  'koa-cash-redis': 'koa-cash, ioredis get/set (JSON)',
  'keyv-redis': 'Keyv + @keyv/redis middleware, body stored as a ready string',
  'keyv-redis-object': "Keyv + @keyv/redis middleware, body object as the value (Keyv's README)",
  'bento-memory': 'bentocache, memory driver (L1)',
  'bento-redis': 'bentocache, redis driver (L2 only)',
  'redis-get': 'plain route, one ioredis GET',
  'node-redis-get': 'plain route, one node-redis GET (the client under @keyv/redis; diagnostic)',
}

const IN_MEMORY: ReadonlySet<HitCase> = new Set(['ceiling', 'ceiling-headers', 'cache-memory', 'koa-cash-memory', 'bento-memory'])

/** Cases that need Redis. */
export function needsRedis(kind: HitCase): boolean {
  return !IN_MEMORY.has(kind)
}
