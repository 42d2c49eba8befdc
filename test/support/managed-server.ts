/** A redis-server process we started (on this machine or in a container), as a RedisServer. */
import { posix } from 'node:path'
import type { NodeHost, NodeProcess } from './node-host.js'
import { FatalWaitError, redisCall, waitUntil } from './probe.js'
import type { RedisServer } from './redis.js'

export interface LaunchOptions {
  /** Prefix of the server's scratch directory, for whoever reads a leftover one. */
  name: string
  /** Extra redis-server arguments, e.g. ['--replicaof', '127.0.0.1', '6379']. */
  args?: string[]
  /** Cluster node: port + 10000 must be free as well. */
  bus?: boolean
  /** Run as a Sentinel with this configuration file text (Sentinel rewrites it, so it is a file). */
  sentinelConfig?: string
}

class PortTakenError extends FatalWaitError {
  override name = 'PortTakenError'
}

const START_TIMEOUT_MS = 20_000
const PORT_ATTEMPTS = 5

/**
 * Starts the process and waits until it answers. Readiness is checked by pid (INFO server's
 * process_id), not by PING alone: if another test process's server grabbed the port first, that
 * server would answer PING while ours dies of EADDRINUSE.
 */
async function startAndWait(nodeHost: NodeHost, args: string[], dir: string, port: number) {
  const child = await nodeHost.spawn(args, dir)
  try {
    await waitUntil(
      `redis-server on ${nodeHost.address}:${port} to answer`,
      async () => {
        const info = await redisCall(nodeHost.address, port, ['INFO', 'server'], 500).catch(() => '')
        if (String(info).includes(`process_id:${child.pid}\r\n`)) return true
        const death = await child.deathNotice()
        if (death === undefined) return false
        throw /address already in use/i.test(death) ? new PortTakenError(death) : new FatalWaitError(death)
      },
      { timeoutMs: START_TIMEOUT_MS },
    )
    return child
  } catch (error) {
    await child.kill()
    throw error
  }
}

function argsFor(port: number, dir: string, options: LaunchOptions, configPath: string | undefined) {
  const common = ['--port', String(port), '--dir', dir, '--protected-mode', 'no']
  if (configPath !== undefined) return [configPath, '--sentinel', ...common]
  return [...common, '--save', '', '--appendonly', 'no', ...(options.args ?? [])]
}

type State = 'running' | 'paused' | 'killed' | 'stopped'

export class ManagedServer implements RedisServer {
  readonly host: string
  readonly port: number
  readonly url: string
  readonly #nodeHost: NodeHost
  readonly #dir: string
  readonly #args: string[]
  #process: NodeProcess
  #state: State = 'running'

  private constructor(nodeHost: NodeHost, port: number, dir: string, args: string[], child: NodeProcess) {
    this.#nodeHost = nodeHost
    this.host = nodeHost.address
    this.port = port
    this.url = `redis://${this.host}:${port}`
    this.#dir = dir
    this.#args = args
    this.#process = child
  }

  static async launch(nodeHost: NodeHost, options: LaunchOptions): Promise<ManagedServer> {
    const dir = await nodeHost.makeDir(options.name)
    try {
      let configPath: string | undefined
      if (options.sentinelConfig !== undefined) {
        configPath = posix.join(dir, 'sentinel.conf')
        await nodeHost.writeFile(configPath, options.sentinelConfig)
      }
      for (let attempt = 1; ; attempt++) {
        const port = await nodeHost.reservePort({ bus: options.bus ?? false })
        const args = argsFor(port, dir, options, configPath)
        try {
          const child = await startAndWait(nodeHost, args, dir, port)
          return new ManagedServer(nodeHost, port, dir, args, child)
        } catch (error) {
          if (!(error instanceof PortTakenError) || !nodeHost.canRepickPorts || attempt >= PORT_ATTEMPTS) throw error
        }
      }
    } catch (error) {
      await nodeHost.removeDir(dir)
      throw error
    }
  }

  #expect(allowed: State[], action: string): void {
    if (!allowed.includes(this.#state)) {
      throw new Error(`${action}() on the Redis server at port ${this.port}: it is ${this.#state}`)
    }
  }

  async pause(): Promise<void> {
    this.#expect(['running', 'paused'], 'pause')
    await this.#process.signal('SIGSTOP')
    this.#state = 'paused'
  }

  async resume(): Promise<void> {
    this.#expect(['running', 'paused'], 'resume')
    await this.#process.signal('SIGCONT')
    this.#state = 'running'
  }

  async kill(): Promise<void> {
    this.#expect(['running', 'paused', 'killed'], 'kill')
    await this.#process.kill()
    this.#state = 'killed'
  }

  /** Same arguments, same port, empty data (persistence is off). Kills the server first if needed. */
  async restart(): Promise<void> {
    this.#expect(['running', 'paused', 'killed'], 'restart')
    await this.#process.kill()
    this.#state = 'killed'
    this.#process = await startAndWait(this.#nodeHost, this.#args, this.#dir, this.port)
    this.#state = 'running'
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    this.#state = 'stopped'
    await this.#process.kill()
    await this.#nodeHost.removeDir(this.#dir)
  }
}
