/**
 * What the generation check (src/cache/generations.ts) costs per write, and
 * what reading the generations costs per computation: plain set against
 * setIfGenerations on a real redis-server and on MemoryStore. Hits are not
 * measured: they read nothing more. Run alone: `npx tsx benchmarks/write-cost.ts`.
 */
import { randomBytes } from 'node:crypto'
import { MemoryStore } from '../adapters/memory.js'
import { RedisStore } from '../adapters/redis.js'
import type { CacheStore } from '../adapters/contract.js'
import { generationsOf } from '../src/cache/generations.js'
import { sharedRedis, stopSharedRedis } from './lib/redis.js'

const N = Number(process.env.WRITES ?? 5000)
const CONCURRENCY = 32
const value = randomBytes(2048)
const ns = 'wcost'
const guards = generationsOf(`${ns}:data:1`, ns)

type Op = (i: number) => Promise<unknown>

/** µs per operation one at a time (latency), and operations per second with CONCURRENCY in flight. */
async function measure(op: Op): Promise<{ usSerial: number; perSecond: number }> {
  for (let i = 0; i < 500; i++) await op(i) // warm-up: connections, script cache, JIT
  let started = performance.now()
  for (let i = 0; i < N; i++) await op(i)
  const usSerial = ((performance.now() - started) * 1000) / N
  started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < N) await op(next++)
  }))
  return { usSerial, perSecond: Math.round(N / ((performance.now() - started) / 1000)) }
}

const ROUNDS = 5

const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!

/** The operations take turns, ROUNDS times, and each keeps its median: a shared machine is noisy. */
async function compare(name: string, store: CacheStore): Promise<void> {
  const expected = await store.readGenerations!(guards)
  const ops: Record<string, Op> = {
    'set (before)': (i) => store.set(`${ns}:data:${i % 100}`, value, 60_000),
    'setIfGenerations (after)': (i) => store.setIfGenerations!(`${ns}:data:${i % 100}`, value, 60_000, guards, expected),
    'readGenerations (per computation)': () => store.readGenerations!(guards),
  }
  const samples = Object.fromEntries(Object.keys(ops).map((op) => [op, [] as Array<{ usSerial: number; perSecond: number }>]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const [op, run] of Object.entries(ops)) samples[op]!.push(await measure(run))
  }
  const rows = Object.fromEntries(
    Object.entries(samples).map(([op, runs]) => [op, { usSerial: median(runs.map((r) => r.usSerial)), perSecond: median(runs.map((r) => r.perSecond)) }]),
  )
  console.log(`\n${name} (median of ${ROUNDS} rounds of ${N} ops, 2 KiB values)`)
  for (const [op, { usSerial, perSecond }] of Object.entries(rows)) {
    console.log(`  ${op.padEnd(36)} ${usSerial.toFixed(1).padStart(7)} µs/op serial   ${String(perSecond).padStart(7)} ops/s at ${CONCURRENCY} in flight`)
  }
}

const server = await sharedRedis()
const redis = new RedisStore({ url: server.url, operationTimeout: 1000 })
await redis.ready()
try {
  await compare('RedisStore, standalone redis-server', redis)
  await compare('MemoryStore', new MemoryStore())
} finally {
  await redis.disconnect()
  await stopSharedRedis()
}
