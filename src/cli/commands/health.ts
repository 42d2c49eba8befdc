/** `health`: the service's /health with --url, otherwise Redis itself. */
import { CliError, type CommandContext } from '../context.js'
import { bytes, count, duration, fields } from '../format.js'
import { serviceHealth } from '../service.js'

export interface HealthOptions {
  url?: string
  timeout: number
}

export async function healthCommand(ctx: CommandContext, options: HealthOptions): Promise<void> {
  if (options.url !== undefined) return serviceHealthCommand(ctx, options.url, options.timeout)
  const store = await ctx.store()
  const started = performance.now()
  await store.client.ping()
  const pingMs = performance.now() - started
  const [info, namespaceKeys] = await Promise.all([store.info(), store.countPrefix(`${ctx.namespace}:`)])
  const report = {
    target: store.opts.url,
    pingMs,
    role: info.role ?? null,
    readOnly: info.readOnly,
    memory: info.memory,
    keys: info.keys,
    namespace: ctx.namespace,
    namespaceKeys,
    warnings: memoryWarnings(info.memory),
  }
  ctx.print(report, () =>
    fields([
      ['redis', report.target],
      ['ping', duration(pingMs)],
      ['role', String(report.role)],
      ['read-only', report.readOnly ? 'yes: writes are skipped' : 'no'],
      ['memory', memoryText(info.memory)],
      ['eviction', info.memory.policy],
      ['keys', `${count(namespaceKeys)} under ${ctx.namespace}: (${count(info.keys)} in the database)`],
      ...report.warnings.map((warning): [string, string] => ['warning', warning]),
    ]),
  )
}

function memoryText(memory: { used: number; max: number }): string {
  if (memory.max === 0) return `${bytes(memory.used)} used, no maxmemory set`
  return `${bytes(memory.used)} of ${bytes(memory.max)} (${((100 * memory.used) / memory.max).toFixed(1)}%)`
}

/** What an operator should know before memory runs out: a cache needs a limit and an eviction policy. */
function memoryWarnings(memory: { used: number; max: number; policy: string }): string[] {
  const warnings: string[] = []
  if (memory.max === 0) warnings.push('no maxmemory: the cache can grow until the machine runs out')
  if (memory.policy === 'noeviction') warnings.push('maxmemory-policy noeviction: writes fail once memory is full')
  if (memory.max > 0 && memory.used / memory.max > 0.9) warnings.push('memory is over 90% of maxmemory')
  return warnings
}

async function serviceHealthCommand(ctx: CommandContext, base: string, timeoutMs: number): Promise<void> {
  const { httpStatus, body } = await serviceHealth(base, timeoutMs)
  ctx.print({ url: `${base}/health`, httpStatus, ...body }, () =>
    fields([
      ['service', `${base}/health (HTTP ${httpStatus})`],
      ...Object.entries(body).map(([name, value]): [string, string] => [name, typeof value === 'object' ? JSON.stringify(value) : String(value)]),
    ]),
  )
  if (httpStatus !== 200 || body.status !== 'ok') throw new CliError(`service status: ${String(body.status)} (HTTP ${httpStatus})`)
}
