/** The commands and their options (commander), and how failures become exit codes. */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { CacheError } from '../cache/errors.js'
import { validateNamespace } from '../cache/keys.js'
import { CliError, CommandContext, EXIT, type CliIo, type GlobalOptions } from './context.js'
import { healthCommand } from './commands/health.js'
import { statsCommand } from './commands/stats.js'
import { keysCommand } from './commands/keys.js'
import { showCommand } from './commands/show.js'
import { clearCommand, invalidateCommand } from './commands/invalidate.js'
import { warmCommand } from './commands/warm.js'

export const BIN = 'koa-bucket-cache'

/** Runs one command line; resolves to the exit code, never rejects. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let context: CommandContext | undefined
  const program = buildProgram(io, (options) => (context = new CommandContext(io, options)))
  try {
    await program.parseAsync(argv, { from: 'user' })
    return EXIT.ok
  } catch (error) {
    return report(error, io)
  } finally {
    await context?.close()
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // commander has printed the message and the usage line already.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage
  }
  if (error instanceof CliError) {
    io.stderr.write(`${BIN}: ${error.message}\n`)
    return error.exitCode
  }
  // A malformed REDIS_* variable: configuration, like a bad option.
  if (error instanceof CacheError && error.code === 'E_CONFIG') {
    io.stderr.write(`${BIN}: ${error.message}\n`)
    return EXIT.usage
  }
  io.stderr.write(`${BIN}: ${error instanceof Error ? error.message : String(error)}\n`)
  return EXIT.failed
}

type Open = (options: GlobalOptions) => CommandContext

function buildProgram(io: CliIo, open: Open): Command {
  const program = new Command(BIN)
    .description('Look after a koa-bucket-cache on Redis: health, stats, keys, entries, invalidation, warming.')
    .addOption(new Option('--redis <url>', 'Redis URL (default: the REDIS_* variables, as the service reads them)').argParser(redisUrl))
    .option('-n, --namespace <name>', 'key namespace of the cache', namespace, 'energy')
    .option('--json', 'print JSON for scripts', false)
    .option('--connect-timeout <ms>', 'how long to wait for Redis', positiveInt, 2000)
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .showHelpAfterError(`Usage: ${BIN} [options] <command>   (${BIN} --help for the commands)`)
  const action =
    <A extends unknown[]>(body: (ctx: CommandContext, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const command = args.at(-1) as Command
      await body(open(command.optsWithGlobals<GlobalOptions>()), ...args)
    }

  command(program, 'health', 'Redis ping, role, read-only, memory and eviction; or the service /health with --url')
    .option('--url <base>', 'service base URL, e.g. http://127.0.0.1:8002', baseUrl)
    .option('--timeout <ms>', 'HTTP timeout', positiveInt, 10_000)
    .action(action((ctx, options: { url?: string; timeout: number }) => healthCommand(ctx, options)))

  command(program, 'stats', 'keys and bytes per route and bucket; hit rate too with --url')
    .option('--url <base>', 'service base URL, for its hit rate and computations', baseUrl)
    .option('--timeout <ms>', 'HTTP timeout', positiveInt, 10_000)
    .option('--sample <n>', 'about how many keys get a MEMORY USAGE call', positiveInt, 1000)
    .action(action((ctx, options: { url?: string; timeout: number; sample: number }) => statsCommand(ctx, options)))

  command(program, 'keys', 'list keys by SCAN (never KEYS), on every master of a Cluster')
    .argument('[route]', 'only this route')
    .option('--limit <n>', 'at most this many keys', positiveInt, 100)
    .action(action((ctx, route: string | undefined, options: { limit: number }) => keysCommand(ctx, route, options)))

  command(program, 'show', 'one entry decoded: status, headers, bucket, age, TTL and the start of the body')
    .argument('<key>', 'the full key, as `keys` prints it')
    .option('--body', 'all of the body; raw bytes when stdout is not a terminal', false)
    .action(action((ctx, key: string, options: { body: boolean }) => showCommand(ctx, key, options)))

  command(program, 'invalidate', "remove every bucket of a route, or one key, through the cache's own invalidation")
    .argument('[route]', 'route name, e.g. gradient')
    .option('--key <key>', 'one key instead of a route')
    .action(action((ctx, route: string | undefined, options: { key?: string }) => invalidateCommand(ctx, route, options)))

  command(program, 'clear', 'remove every key of the namespace (never FLUSHDB); asks first on a terminal')
    .option('-y, --yes', 'do not ask', false)
    .action(action((ctx, options: { yes: boolean }) => clearCommand(ctx, options)))

  command(program, 'warm', 'request routes so the current bucket is computed, timing each')
    .argument('[path...]', 'paths to request (default: the three energy endpoints)')
    .requiredOption('--url <base>', 'service base URL, e.g. http://127.0.0.1:8002', baseUrl)
    .option('--timeout <ms>', 'HTTP timeout per request', positiveInt, 60_000)
    .action(action((ctx, paths: string[], options: { url: string; timeout: number }) => warmCommand(ctx, paths, options)))

  // After an error, one usage line rather than the whole help.
  for (const sub of program.commands) sub.showHelpAfterError(`Usage: ${BIN} ${sub.name()} ${sub.usage()}`)
  return program
}

function command(program: Command, name: string, description: string): Command {
  return program.command(name).description(description)
}

function positiveInt(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.')
  return n
}

function namespace(value: string): string {
  try {
    validateNamespace(value)
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`)
  }
  return value
}

function redisUrl(value: string): string {
  if (!isUrl(value, ['redis:', 'rediss:'])) throw new InvalidArgumentError('expected a redis:// or rediss:// URL.')
  return value
}

/** A base URL such as http://127.0.0.1:8002, without its trailing slash. */
function baseUrl(value: string): string {
  if (!isUrl(value, ['http:', 'https:'])) throw new InvalidArgumentError('expected an http:// or https:// URL.')
  return new URL(value).href.replace(/\/+$/, '')
}

function isUrl(value: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol)
  } catch {
    return false
  }
}
