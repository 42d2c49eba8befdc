/** The cases of the hit-throughput scenario, shared by its server script and its runner. */
export const HIT_CASES = [
  'ceiling',
  'cache-memory',
  'cache-redis',
  'cache-redis-single-get',
  'cache-redis-autopipeline',
  'koa-cash-memory',
  'koa-cash-redis',
  'keyv-redis',
  'bento-memory',
  'bento-redis',
  'redis-get',
  'node-redis-get',
] as const
export type HitCase = (typeof HIT_CASES)[number]

export const HIT_CASE_LABELS: Record<HitCase, string> = {
  ceiling: 'ceiling: prepared Buffer, no cache',
  'cache-memory': 'koa-bucket-cache, MemoryStore',
  'cache-redis': 'koa-bucket-cache, RedisStore',
  'cache-redis-single-get': 'koa-bucket-cache, RedisStore, stale: 0 (one GET; diagnostic)',
  'cache-redis-autopipeline': 'koa-bucket-cache, RedisStore on ioredis with enableAutoPipelining (diagnostic)',
  'koa-cash-memory': 'koa-cash, lru-cache',
  'koa-cash-redis': 'koa-cash, ioredis get/set (JSON)',
  'keyv-redis': 'Keyv + @keyv/redis middleware',
  'bento-memory': 'bentocache, memory driver (L1)',
  'bento-redis': 'bentocache, redis driver (L2 only)',
  'redis-get': 'plain route, one ioredis GET',
  'node-redis-get': 'plain route, one node-redis GET (the client under @keyv/redis; diagnostic)',
}

/** Cases that need Redis. */
export function needsRedis(kind: HitCase): boolean {
  return kind !== 'ceiling' && kind !== 'cache-memory' && kind !== 'koa-cash-memory' && kind !== 'bento-memory'
}

/** Cases that only explain a number (what a change in the cache would buy): full mode only. */
export const DIAGNOSTIC_CASES: ReadonlySet<HitCase> = new Set(['cache-redis-single-get', 'cache-redis-autopipeline', 'node-redis-get'])
