/**
 * The parent side: forks a benchmark server script under tsx, waits for its port, and talks to
 * it over IPC. Its output is kept (the last lines) and shown only when it fails.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'

const SERVERS = new URL('../servers/', import.meta.url)
const START_TIMEOUT_MS = 30_000
const CALL_TIMEOUT_MS = 60_000

export interface ServerEvent {
  name: string
  data: unknown
  /** Child's Date.now() when it happened. */
  at: number
}

interface Message {
  type: 'ready' | 'reply' | 'event'
  port?: number
  id?: number
  result?: unknown
  error?: string
  name?: string
  data?: unknown
  at?: number
}

const live = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

export class ServerProcess extends EventEmitter {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  readonly events: ServerEvent[] = []
  #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  #nextId = 1
  #output: string[]

  private constructor(child: ChildProcess, port: number, output: string[]) {
    super()
    this.child = child
    this.port = port
    this.url = `http://127.0.0.1:${port}`
    this.#output = output
    child.on('message', (raw) => {
      const message = raw as Message
      if (message.type === 'reply' && message.id !== undefined) {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        if (message.error !== undefined) pending?.reject(new Error(`server command failed: ${message.error}`))
        else pending?.resolve(message.result)
      } else if (message.type === 'event') {
        const event = { name: message.name ?? '', data: message.data, at: message.at ?? Date.now() }
        this.events.push(event)
        this.emit('event', event)
      }
    })
    child.on('exit', () => {
      live.delete(child)
      for (const pending of this.#pending.values()) pending.reject(new Error(`server exited\n${this.output()}`))
      this.#pending.clear()
    })
  }

  /** Starts `benchmarks/servers/<script>` with `env` added to this process's environment. */
  static async start(script: string, env: Record<string, string | number> = {}, nodeArgs: string[] = []): Promise<ServerProcess> {
    const file = fileURLToPath(new URL(script, SERVERS))
    const child = fork(file, [], {
      execArgv: [...nodeArgs, '--import', import.meta.resolve('tsx')],
      env: { ...process.env, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    live.add(child)
    const output: string[] = []
    const keep = (chunk: Buffer): void => {
      output.push(...chunk.toString().split('\n').filter(Boolean))
      if (output.length > 40) output.splice(0, output.length - 40)
      if (process.env.BENCH_VERBOSE) process.stderr.write(chunk)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${script} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
      function fail(error: Error): void {
        clearTimeout(timer)
        child.kill('SIGKILL')
        reject(new Error(`${error.message}\n${output.join('\n')}`))
      }
      child.on('message', (raw) => {
        const message = raw as Message
        if (message.type === 'ready' && typeof message.port === 'number') {
          clearTimeout(timer)
          resolve(message.port)
        }
      })
      child.once('exit', (code, signal) => fail(new Error(`${script} exited (${code ?? signal}) before it was ready`)))
    })
    return new ServerProcess(child, port, output)
  }

  get pid(): number {
    return this.child.pid ?? -1
  }

  output(): string {
    return this.#output.join('\n')
  }

  call<T = unknown>(cmd: string, args?: unknown): Promise<T> {
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`server command ${cmd} timed out`))
      }, CALL_TIMEOUT_MS)
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value as T)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      this.child.send({ id, cmd, args })
    })
  }

  /** Asks the server to close and exit; kills it if it has not within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000)
    this.call('stop').catch(() => {})
    await exited
    clearTimeout(timer)
  }
}
