/**
 * What every command shares: the streams it writes to, the exit codes, and one way to reach Redis
 * (the REDIS_* variables the service reads, or --redis).
 */
import type { Readable, Writable } from 'node:stream'
import { RedisStore, redisOptionsFromEnv, type RedisStoreOptions } from '../../adapters/redis.js'
import type { Logger } from '../../adapters/contract.js'
import type { Env } from '../cache/env.js'

/** Exit codes scripts can branch on. */
export const EXIT = {
  ok: 0,
  /** The command ran and failed (a missing key, a refused confirmation, a failed request). */
  failed: 1,
  /** Unknown command or option, a malformed value, or a missing --yes without a terminal. */
  usage: 2,
  /** Redis (or the service named by --url) could not be reached in time. */
  unreachable: 3,
} as const

export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

export type Output = Writable & { isTTY?: boolean }
export type Input = Readable & { isTTY?: boolean }

export interface CliIo {
  stdout: Output
  stderr: Output
  stdin: Input
  env: Env
}

export interface GlobalOptions {
  redis?: string
  namespace: string
  json: boolean
  connectTimeout: number
}

/** What a command receives: options, streams, and a lazily opened store closed after the command. */
export class CommandContext {
  readonly io: CliIo
  readonly options: GlobalOptions
  #store: RedisStore | undefined

  constructor(io: CliIo, options: GlobalOptions) {
    this.io = io
    this.options = options
  }

  get json(): boolean {
    return this.options.json
  }

  get namespace(): string {
    return this.options.namespace
  }

  /** A connected RedisStore, or CliError with exit code 3 once the connect timeout passed. */
  async store(): Promise<RedisStore> {
    if (this.#store) return this.#store
    const store = new RedisStore(this.#storeOptions())
    this.#store = store
    // The last connection error says why (refused, wrong password, TLS), where a timeout alone would not.
    let lastError: string | undefined
    store.on('error', (error: unknown) => (lastError = error instanceof Error ? error.message : String(error)))
    if (!(await store.ready())) {
      const why = lastError === undefined ? '' : ` (${lastError})`
      throw new CliError(`cannot reach Redis at ${store.opts.url} within ${this.options.connectTimeout} ms${why}`, EXIT.unreachable)
    }
    return store
  }

  /** Forgets the store without disconnecting it: something else (a ResponseCache) closes it. */
  handOver(): void {
    this.#store = undefined
  }

  async close(): Promise<void> {
    const store = this.#store
    this.#store = undefined
    await store?.disconnect()
  }

  #storeOptions(): RedisStoreOptions {
    const fromEnv = redisOptionsFromEnv(this.io.env)
    // --redis names the server; the environment's other targets (host, Sentinel, Cluster) would compete with it.
    const target: RedisStoreOptions = this.options.redis === undefined ? fromEnv : { url: this.options.redis }
    return {
      // A scan or an UNLINK batch on a busy server may take longer than a request's 100 ms budget.
      operationTimeout: fromEnv.operationTimeout ?? 5000,
      ...target,
      ...(fromEnv.readOnly !== undefined && { readOnly: fromEnv.readOnly }),
      connectTimeout: this.options.connectTimeout,
      roleCheckInterval: 0,
      logger: silentLogger,
    }
  }

  /** Writes `value` as JSON (for --json) or `human()` as text. */
  print(value: unknown, human: () => string): void {
    this.io.stdout.write(this.json ? `${JSON.stringify(value, null, 2)}\n` : human())
  }
}

/** The CLI reports what matters itself; the store's own warnings would interleave with its output. */
const silentLogger: Logger = { warn: () => {} }
