/**
 * Where a hit's time goes: runs one hit-throughput case's server, pinned as scenario A pins it,
 * warms it up, then loads it with autocannon under V8's CPU profiler, and prints the functions
 * with the most self time and the inclusive time of the functions between the request and the
 * socket, as a share of the server's busy time and in microseconds per answered request.
 *
 *   npx tsx benchmarks/profile-hit.ts cache-memory [seconds] [filter]
 *
 * The profile (.cpuprofile, for Chrome DevTools or speedscope) stays in scratch/profiles/; given a
 * .cpuprofile instead of a case, it is read again (the second argument then filters the functions).
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { HIT_CASES, needsRedis, type HitCase } from './lib/hit-cases.js'
import { throughput } from './lib/load.js'
import { pinHelper, pinServer } from './lib/placement.js'
import { sharedRedis, stopSharedRedis } from './lib/redis.js'
import { redisPid } from './lib/redis-cpu.js'
import { ServerProcess } from './lib/server-process.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const ROOT = fileURLToPath(new URL('../', import.meta.url))

const [first = 'cache-memory', second = '10', third = ''] = process.argv.slice(2)
if (first.endsWith('.cpuprofile')) {
  // A profile taken earlier, read again (with a filter in `second`): npx tsx benchmarks/profile-hit.ts <file> [filter]
  summarise(JSON.parse(readFileSync(first, 'utf8')) as Profile, Number(process.env.REQUESTS ?? 0), first, second === '10' ? '' : second)
} else {
  const kind = first as HitCase
  if (!HIT_CASES.includes(kind)) throw new Error(`unknown case ${kind}; one of ${HIT_CASES.join(', ')}`)
  const { path, answered } = await profileCase(kind, Number(second))
  process.stderr.write(`(read it again: REQUESTS=${answered} npx tsx benchmarks/profile-hit.ts ${path} [filter])\n`)
  summarise(JSON.parse(readFileSync(path, 'utf8')) as Profile, answered, path, third)
}

async function profileCase(kind: HitCase, seconds: number): Promise<{ path: string; answered: number }> {
  const dir = fileURLToPath(new URL(`../scratch/profiles/${kind}-${Date.now().toString(36)}/`, import.meta.url))
  mkdirSync(dir, { recursive: true })
  const redis = needsRedis(kind) ? await sharedRedis() : undefined
  if (redis) pinHelper(await redisPid(redis))
  pinHelper(process.pid)
  const env = { BENCH_CASE: kind, BENCH_PREFIX: `profile-${Date.now().toString(36)}`, ...(redis ? { REDIS_URL: redis.url } : {}) }
  const server = await ServerProcess.start('hit-server.ts', env)
  const path = `${dir}${kind}.cpuprofile`
  let answered = 0
  try {
    pinServer(server.pid)
    await throughput(server.url, { connections: 50, duration: 3, path: '/payload' })
    // Only the measured run is profiled: start-up (tsx compiling) and warm-up stay out.
    await server.call('profile-start')
    const measured = await throughput(server.url, { connections: 50, duration: seconds, path: '/payload' })
    await server.call('profile-stop', { path })
    answered = measured.ok
    process.stderr.write(`${kind}: ${Math.round(measured.rps)} req/s over ${seconds} s\n`)
  } finally {
    await server.stop()
    await stopSharedRedis()
  }
  return { path, answered }
}

/** `name file`: a project file relative to the repository, a package's as `nm:<package path>`. */
function label(node: ProfileNode): string {
  const { functionName, url } = node.callFrame
  const path = url.startsWith('file://') ? fileURLToPath(url) : url
  const modules = path.lastIndexOf('/node_modules/')
  const where = modules >= 0 ? `nm:${path.slice(modules + 14)}` : path.startsWith(ROOT) ? path.slice(ROOT.length) : path
  return `${functionName || '(anonymous)'} ${where}`
}

/** Self and inclusive sample time per function (a function on the stack twice counts once). */
function summarise(profile: Profile, requests: number, path: string, filter: string): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let total = 0
  let idle = 0
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    const node = byId.get(id)!
    if (node.callFrame.functionName === '(idle)') {
      idle += us
      return
    }
    total += us
    self.set(label(node), (self.get(label(node)) ?? 0) + us)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = label(byId.get(at)!)
      if (seen.has(name)) continue
      seen.add(name)
      inclusive.set(name, (inclusive.get(name) ?? 0) + us)
    }
  })
  const per = (us: number): string => `${(us / Math.max(1, requests)).toFixed(2).padStart(6)} us/req ${((100 * us) / total).toFixed(1).padStart(5)}%`
  const top = (map: Map<string, number>, n: number, keep: (name: string) => boolean): string[] =>
    [...map].filter(([name]) => keep(name)).sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => `  ${per(us)}  ${name}`)
  const ours = (name: string): boolean => (filter ? name.includes(filter) : / (src|adapters|benchmarks|nm:koa|nm:@koa|nm:on-headers|nm:ioredis|nm:lru-cache)\//.test(name))
  process.stdout.write(
    [
      `profile: ${path}`,
      `busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms, ${requests} answered requests: ${(total / Math.max(1, requests)).toFixed(2)} us of busy time per request`,
      'self time, top 40:',
      ...top(self, 40, () => true),
      'inclusive time, this project, Koa, on-headers, ioredis, lru-cache, top 60:',
      ...top(inclusive, 60, ours),
    ].join('\n') + '\n',
  )
}
