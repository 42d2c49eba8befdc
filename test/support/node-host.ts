/**
 * Where redis-server processes run. The topologies (replica pair, cluster, sentinel) are written
 * once against NodeHost; LocalHost runs the binary from PATH, ContainerHost (docker.ts) runs the
 * same commands inside one container.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { guardPid, scratchRoot, track } from './cleanup.js'
import { NO_REDIS_MESSAGE, redisServerPath } from './detect.js'
import { freePort } from './probe.js'

export interface NodeProcess {
  /** As the server itself reports it in INFO server (process_id); -1 if it never started. */
  readonly pid: number
  /** SIGSTOP hangs the server (the socket stays open, nothing answers); SIGCONT resumes it. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void>
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>
  /** undefined while the process lives; once it has died, its last output. */
  deathNotice(): Promise<string | undefined>
}

export interface NodeHost {
  /** The address clients in this test process use to reach the servers. */
  readonly address: string
  /** False when ports were published before the servers started, so a taken port is fatal. */
  readonly canRepickPorts: boolean
  reservePort(options: { bus: boolean }): Promise<number>
  makeDir(name: string): Promise<string>
  removeDir(dir: string): Promise<void>
  writeFile(path: string, text: string): Promise<void>
  /** Starts `redis-server ...args` in the foreground; the host adds the bind address. */
  spawn(args: string[], dir: string): Promise<NodeProcess>
  dispose(): Promise<void>
}

const OUTPUT_KEPT = 4_000

class LocalProcess implements NodeProcess {
  readonly pid: number
  readonly #child: ChildProcess
  readonly #exited: Promise<void>
  #output = ''
  #failed = false

  constructor(child: ChildProcess) {
    this.#child = child
    this.pid = child.pid ?? -1
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-OUTPUT_KEPT)
    }
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', keep)
      ;(stream as Socket | null)?.unref()
    }
    // A forgotten server must not keep the test process alive; the exit hook kills it.
    child.unref()
    const pid = child.pid
    const forget = pid === undefined ? () => {} : track({ killSync: () => process.kill(pid, 'SIGKILL') })
    const unguard = pid === undefined ? () => {} : guardPid(pid)
    this.#exited = new Promise((resolve) => {
      const done = (): void => {
        forget()
        unguard()
        resolve()
      }
      child.once('exit', done)
      child.once('error', (error) => {
        this.#failed = true
        keep(Buffer.from(`\n${error.message}`))
        done()
      })
    })
  }

  #alive(): boolean {
    return !this.#failed && this.#child.exitCode === null && this.#child.signalCode === null
  }

  async signal(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    if (this.#alive()) this.#child.kill(signal)
  }

  async kill(): Promise<void> {
    if (this.#alive()) {
      this.#child.ref() // keep the loop alive until 'exit' arrives
      this.#child.kill('SIGKILL')
    }
    await this.#exited
  }

  async deathNotice(): Promise<string | undefined> {
    if (this.#alive()) return undefined
    const how = this.#child.signalCode ?? `code ${this.#child.exitCode}`
    return `redis-server exited (${how}): ${this.#output.trim()}`
  }
}

export class LocalHost implements NodeHost {
  readonly address = '127.0.0.1'
  readonly canRepickPorts = true

  reservePort({ bus }: { bus: boolean }): Promise<number> {
    return freePort({ bus })
  }

  makeDir(name: string): Promise<string> {
    return mkdtemp(join(scratchRoot(), `${name}-`))
  }

  async removeDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true })
  }

  async writeFile(path: string, text: string): Promise<void> {
    await writeFile(path, text)
  }

  async spawn(args: string[], dir: string): Promise<NodeProcess> {
    const binary = redisServerPath()
    if (!binary) throw new Error(NO_REDIS_MESSAGE)
    const child = spawn(binary, [...args, '--bind', '127.0.0.1', '--daemonize', 'no'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return new LocalProcess(child)
  }

  async dispose(): Promise<void> {
    // processes and directories belong to their servers
  }
}

export const localHost = new LocalHost()
