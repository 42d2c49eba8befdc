/**
 * `invalidate` and `clear` through the cache's own invalidation (never FLUSHDB, never a raw DEL),
 * so whatever the cache does on an invalidation (its other tiers, its peers) happens here too.
 */
import { createInterface } from 'node:readline/promises'
import { createResponseCache, type ResponseCache } from '../../index.js'
import { CliError, EXIT, type CommandContext, type CliIo } from '../context.js'
import { count } from '../format.js'

export interface InvalidateOptions {
  key?: string
}

export async function invalidateCommand(ctx: CommandContext, route: string | undefined, options: InvalidateOptions): Promise<void> {
  if ((route === undefined) === (options.key === undefined)) {
    throw new CliError('invalidate takes a route or --key <key>, not both', EXIT.usage)
  }
  const removed = await withCache(ctx, (cache) =>
    options.key === undefined ? cache.invalidate(route!) : cache.invalidateKey(options.key).then(Number),
  )
  const what = options.key === undefined ? `route ${route}` : `key ${options.key}`
  ctx.print({ namespace: ctx.namespace, route: route ?? null, key: options.key ?? null, removed }, () => `removed ${count(removed)} keys of ${what}\n`)
}

export interface ClearOptions {
  yes: boolean
}

export async function clearCommand(ctx: CommandContext, options: ClearOptions): Promise<void> {
  const store = await ctx.store()
  const prefix = `${ctx.namespace}:`
  if (!options.yes) {
    if (ctx.io.stdin.isTTY !== true) {
      throw new CliError(`clear deletes every key under ${prefix}: pass --yes when there is no terminal to confirm on`, EXIT.usage)
    }
    const keys = await store.countPrefix(prefix)
    const question = `Delete all ${count(keys)} keys under ${prefix} on ${store.opts.url}? [y/N] `
    if (!(await confirm(ctx.io, question))) throw new CliError('nothing cleared')
  }
  const removed = await withCache(ctx, (cache) => cache.clear())
  ctx.print({ namespace: ctx.namespace, removed }, () => `removed ${count(removed)} keys under ${prefix}\n`)
}

/** Asks on the terminal; only `y` or `yes` agrees. The prompt goes to stderr so stdout stays data. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: io.stdin.isTTY === true })
  try {
    const answer = await Promise.race([rl.question(question), closed(rl)])
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}

/** End of input (Ctrl-D) answers no. */
function closed(rl: ReturnType<typeof createInterface>): Promise<string> {
  return new Promise((resolve) => rl.once('close', () => resolve('')))
}

/** Runs `work` on a cache over the connected store; a store error is reported, not taken for "0 keys". */
async function withCache<T>(ctx: CommandContext, work: (cache: ResponseCache) => Promise<T>): Promise<T> {
  const store = await ctx.store()
  if (store.readOnly) {
    throw new CliError(`Redis at ${store.opts.url} is read-only (${store.role}): point --redis at the primary`)
  }
  // No fallback: a remembered invalidation replayed later is right for a service, wrong for a
  // command that must say now whether the keys went.
  const cache = createResponseCache({ store, namespace: ctx.namespace, fallback: false, logger: { warn: () => {} } })
  ctx.handOver()
  let failure: unknown
  cache.on('store-error', (error: unknown) => (failure ??= error))
  try {
    const result = await work(cache)
    if (failure !== undefined) throw new CliError(`Redis failed: ${failure instanceof Error ? failure.message : String(failure)}`)
    return result
  } finally {
    await cache.close()
  }
}
