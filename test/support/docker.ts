/**
 * The Docker side of the launcher (testcontainers 11, image redis:7.2-alpine).
 *
 * Standalone: one container per server; pause/resume are container pause/unpause, kill is a
 * stop with no grace period. restart() cannot bring the killed container back (testcontainers
 * removes it on stop), so it starts a NEW container of the same image and arguments with the
 * host port pinned to the old one: same address, empty data, as with the binary (persistence is
 * off there too). If something else took that host port meanwhile, restart() fails.
 *
 * Replica pair, Sentinel and Cluster: ONE "holder" container runs every redis-server of the
 * topology, started with `docker exec`, each listening on the same port number inside the
 * container as the host port it is published on. So 127.0.0.1:<port> names the same server from
 * inside the container (replicaof, sentinel monitor, CLUSTER MEET, the addresses they gossip) and
 * from the test process, and no announce-ip/NAT mapping is needed for ioredis' Sentinel and
 * Cluster clients. The price: it needs an engine that publishes ports on this machine's loopback
 * (local Docker, Docker Desktop, Colima); a remote DOCKER_HOST is refused with a clear error.
 * Per-server pause/kill are signals sent with `docker exec kill`, as with the binary.
 *
 * The image is TEST_REDIS_IMAGE, default redis:7.2-alpine. Any image with redis-server, sh, sleep,
 * mkdir, tail, grep, awk and cat on PATH works; .ci/local-image.sh builds one from this machine's
 * Debian packages where no registry can be reached. Published ports listen on 127.0.0.1 only.
 */
import { spawnSync } from 'node:child_process'
import type { GenericContainer, StartedTestContainer } from 'testcontainers'
import { track } from './cleanup.js'
import { findOnPath, localEngine, redisImage } from './detect.js'
import type { NodeHost, NodeProcess } from './node-host.js'
import { freePort, ping, waitUntil } from './probe.js'
import type { RedisServer } from './redis.js'

const REDIS_PORT = 6379

type Ports = Parameters<GenericContainer['withExposedPorts']>

/**
 * A GenericContainer whose published ports listen on 127.0.0.1 only when the engine is local:
 * testcontainers 11 leaves the host address empty, which publishes on every interface.
 */
async function loopbackContainer(): Promise<GenericContainer> {
  const { GenericContainer } = await import('testcontainers')
  const pin = localEngine()
  class LoopbackContainer extends GenericContainer {
    override withExposedPorts(...ports: Ports): this {
      super.withExposedPorts(...ports)
      if (!pin) return this
      for (const bindings of Object.values(this.hostConfig.PortBindings ?? {})) {
        for (const binding of bindings as { HostIp?: string }[]) binding.HostIp = '127.0.0.1'
      }
      return this
    }
  }
  return new LoopbackContainer(redisImage())
}

/** Ryuk removes our containers when this process dies; this also covers a disabled Ryuk. */
function trackContainer(id: string): () => void {
  return track({
    killSync() {
      if (findOnPath('docker')) spawnSync('docker', ['rm', '-f', id], { stdio: 'ignore', timeout: 10_000 })
    },
  })
}

async function dockerode(container: StartedTestContainer) {
  const { getContainerRuntimeClient } = await import('testcontainers')
  const client = await getContainerRuntimeClient()
  return client.container.getById(container.getId())
}

async function runRedisContainer(args: string[], hostPort?: number): Promise<StartedTestContainer> {
  return (await loopbackContainer())
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...args])
    .withExposedPorts(hostPort === undefined ? REDIS_PORT : { container: REDIS_PORT, host: hostPort })
    .start()
}

type State = 'running' | 'paused' | 'killed' | 'stopped'

class DockerServer implements RedisServer {
  readonly host: string
  readonly port: number
  readonly url: string
  readonly #args: string[]
  #container: StartedTestContainer
  #forget: () => void
  #state: State = 'running'

  constructor(container: StartedTestContainer, args: string[]) {
    this.#container = container
    this.#forget = trackContainer(container.getId())
    this.#args = args
    this.host = container.getHost()
    this.port = container.getMappedPort(REDIS_PORT)
    this.url = `redis://${this.host}:${this.port}`
  }

  async ready(): Promise<void> {
    await waitUntil(`Redis container at ${this.host}:${this.port} to answer PING`, () => ping(this.host, this.port))
  }

  #expect(allowed: State[], action: string): void {
    if (!allowed.includes(this.#state)) {
      throw new Error(`${action}() on the Redis container at port ${this.port}: it is ${this.#state}`)
    }
  }

  async pause(): Promise<void> {
    this.#expect(['running', 'paused'], 'pause')
    if (this.#state === 'running') await (await dockerode(this.#container)).pause()
    this.#state = 'paused'
  }

  async resume(): Promise<void> {
    this.#expect(['running', 'paused'], 'resume')
    if (this.#state === 'paused') await (await dockerode(this.#container)).unpause()
    this.#state = 'running'
  }

  async #remove(): Promise<void> {
    if (this.#state === 'paused') await (await dockerode(this.#container)).unpause()
    if (this.#state === 'running' || this.#state === 'paused') await this.#container.stop({ timeout: 0 })
    this.#forget()
  }

  async kill(): Promise<void> {
    this.#expect(['running', 'paused', 'killed'], 'kill')
    await this.#remove()
    this.#state = 'killed'
  }

  async restart(): Promise<void> {
    this.#expect(['running', 'paused', 'killed'], 'restart')
    await this.kill()
    this.#container = await runRedisContainer(this.#args, this.port)
    this.#forget = trackContainer(this.#container.getId())
    this.#state = 'running'
    await this.ready()
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return
    await this.#remove()
    this.#state = 'stopped'
  }
}

export async function startDockerRedis(args: string[]): Promise<RedisServer> {
  const server = new DockerServer(await runRedisContainer(args), args)
  try {
    await server.ready()
    return server
  } catch (error) {
    await server.stop()
    throw error
  }
}

const GONE = `[ ! -d /proc/$1 ] || grep -q '^State:[[:space:]]*Z' /proc/$1/status 2>/dev/null`

class ContainerProcess implements NodeProcess {
  constructor(
    readonly pid: number,
    readonly container: StartedTestContainer,
    readonly log: string,
  ) {}

  async signal(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    await this.container.exec(['kill', `-${signal.slice(3)}`, String(this.pid)])
  }

  async kill(): Promise<void> {
    const script = `kill -9 "$1" 2>/dev/null; until ${GONE}; do sleep 0.05; done`
    await this.container.exec(['sh', '-c', script, 'sh', String(this.pid)])
  }

  async deathNotice(): Promise<string | undefined> {
    const script = `if ${GONE}; then tail -n 20 "$2"; exit 1; fi`
    const result = await this.container.exec(['sh', '-c', script, 'sh', String(this.pid), this.log])
    return result.exitCode === 0 ? undefined : `redis-server exited: ${result.output.trim()}`
  }
}

class ContainerHost implements NodeHost {
  readonly address = '127.0.0.1'
  readonly canRepickPorts = false
  readonly #container: StartedTestContainer
  readonly #ports: number[]
  readonly #forget: () => void
  #dirs = 0

  constructor(container: StartedTestContainer, ports: number[]) {
    this.#container = container
    this.#ports = [...ports]
    this.#forget = trackContainer(container.getId())
  }

  async reservePort(): Promise<number> {
    const port = this.#ports.shift()
    if (port === undefined) throw new Error('ContainerHost: more servers than published ports')
    return port
  }

  async makeDir(name: string): Promise<string> {
    const dir = `/tmp/kbc/${name}-${++this.#dirs}`
    await this.#container.exec(['mkdir', '-p', dir])
    return dir
  }

  async removeDir(): Promise<void> {
    // goes with the container
  }

  async writeFile(path: string, text: string): Promise<void> {
    await this.#container.copyContentToContainer([{ content: text, target: path }])
  }

  async spawn(args: string[], dir: string): Promise<NodeProcess> {
    const log = `${dir}/redis.log`
    const script = 'log="$1"; shift; redis-server "$@" --bind 0.0.0.0 --daemonize no >"$log" 2>&1 </dev/null & echo $!'
    const result = await this.#container.exec(['sh', '-c', script, 'sh', log, ...args])
    const pid = Number.parseInt(result.stdout.trim(), 10)
    if (result.exitCode !== 0 || !Number.isInteger(pid)) {
      throw new Error(`Could not start redis-server in the container: ${result.output.trim()}`)
    }
    return new ContainerProcess(pid, this.#container, log)
  }

  async dispose(): Promise<void> {
    await this.#container.stop({ timeout: 0 })
    this.#forget()
  }
}

/** A holder container publishing `count` ports, each on the same number on the host. */
export async function createContainerHost(count: number, { bus = false } = {}): Promise<NodeHost> {
  if (!localEngine()) {
    throw new Error(
      `Redis replica pairs, Sentinel and Cluster under Docker need an engine publishing ports on this machine, ` +
        `but DOCKER_HOST is ${process.env.DOCKER_HOST}: install redis-server or use a local Docker engine`,
    )
  }
  const { Wait } = await import('testcontainers')
  const ports: number[] = []
  for (let i = 0; i < count; i++) ports.push(await freePort({ bus }))
  const container = await (await loopbackContainer())
    .withCommand(['sh', '-c', 'echo holder-ready; trap "exit 0" TERM; while :; do sleep 1; done'])
    .withExposedPorts(...ports.map((port) => ({ container: port, host: port })))
    .withWaitStrategy(Wait.forLogMessage('holder-ready'))
    .start()
  return new ContainerHost(container, ports)
}
