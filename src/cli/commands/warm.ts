/** `warm --url <base> [path...]`: requests each route once so the current bucket is computed. */
import { CliError, EXIT, type CommandContext } from '../context.js'
import { duration, progress, table } from '../format.js'
import { timedGet, type Timed } from '../service.js'

/**
 * The energy service's cached endpoints. Written here rather than imported: the CLI sits below the
 * service (energy -> cli -> cache) and must not reach into its code.
 */
export const DEFAULT_WARM_PATHS: readonly string[] = ['/energy/gradient', '/energy/monitor', '/energy/calibrate']

export interface WarmOptions {
  url: string
  timeout: number
}

export async function warmCommand(ctx: CommandContext, paths: string[], options: WarmOptions): Promise<void> {
  const wanted = paths.length > 0 ? paths.map((p) => (p.startsWith('/') ? p : `/${p}`)) : [...DEFAULT_WARM_PATHS]
  const bar = progress(ctx.io.stdout, 'warming', wanted.length, ctx.json)
  const results: Timed[] = []
  // One at a time: the point is to compute each bucket once, not to load the service.
  for (const path of wanted) {
    const { body: _body, ...timed } = await timedGet(options.url, path, options.timeout)
    results.push(timed)
    bar.tick()
  }
  bar.stop()
  ctx.print({ url: options.url, results }, () =>
    table(
      ['path', 'status', 'x-cache', 'time'],
      results.map((r) => [r.path, r.status ?? r.error ?? '-', r.xCache ?? '-', duration(r.ms)]),
      ['left', 'right', 'left', 'right'],
    ),
  )
  const failed = results.filter((r) => r.status === null || r.status >= 400)
  if (failed.length === 0) return
  // Nothing answered at all: the service is down or the URL is wrong, not a failing route.
  const unreachable = failed.length === results.length && results.every((r) => r.status === null)
  throw new CliError(`${failed.length} of ${results.length} requests failed`, unreachable ? EXIT.unreachable : EXIT.failed)
}
