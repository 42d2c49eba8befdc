/**
 * Which real Redis the tests can use, shared by the launcher (redis.ts) and by `npm test`'s
 * pre-flight (ensure-redis.ts) so both always agree.
 *
 * Order: TEST_REDIS_URL, then a reachable Docker engine (testcontainers), then `redis-server` on
 * PATH; the engine is passed over for redis-server when the image would first have to be pulled. TEST_REDIS_BACKEND=binary or =docker narrows the choice (e.g. a developer with Docker who
 * wants the faster binary); it never widens it.
 */
import { accessSync, constants, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'

export type RedisBackend = 'url' | 'docker' | 'binary'

export const NO_REDIS_MESSAGE =
  'No Redis available for tests: install it (apt-get install redis-server), or set TEST_REDIS_URL, or start a Docker engine'

/** How long the engine has to answer; longer when TEST_REDIS_BACKEND=docker leaves no other choice. */
const DOCKER_PROBE_TIMEOUT_MS = 5_000
const DOCKER_ONLY_PROBE_TIMEOUT_MS = 30_000

/** Absolute path of an executable found on PATH, or undefined. */
export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here; keep looking
    }
  }
  return undefined
}

export function redisServerPath(): string | undefined {
  return findOnPath('redis-server')
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

/**
 * Cheap pre-check so machines without any Docker configuration never pay for importing
 * testcontainers or for its strategy probing; mirrors the places testcontainers itself looks.
 */
function dockerMightExist(): boolean {
  if (process.env.DOCKER_HOST) return true
  const home = homedir()
  const uid = process.getuid?.()
  const candidates = [
    '/var/run/docker.sock',
    join(home, '.testcontainers.properties'),
    join(home, '.docker', 'run', 'docker.sock'),
    join(home, '.docker', 'desktop', 'docker.sock'),
    process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    uid === undefined ? '' : `/run/user/${uid}/docker.sock`,
  ]
  return candidates.some((path) => path !== '' && exists(path))
}

/** The engine runs on this machine (a socket, not tcp:// or ssh://), so its ports can be on loopback. */
export function localEngine(): boolean {
  const host = process.env.DOCKER_HOST
  return !host || /^(unix|npipe):/.test(host)
}

async function probeDocker(): Promise<boolean> {
  if (!dockerMightExist()) return false
  // A local engine's test ports are published on 127.0.0.1 only (docker.ts). testcontainers would
  // otherwise answer the bridge gateway wherever /.dockerenv exists, and read it once, right here.
  if (localEngine()) process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1'
  let timer: NodeJS.Timeout | undefined
  try {
    // Loading testcontainers is not the engine's time: on a busy machine it alone can take seconds.
    const { getContainerRuntimeClient } = await import('testcontainers')
    const ms = process.env.TEST_REDIS_BACKEND === 'docker' ? DOCKER_ONLY_PROBE_TIMEOUT_MS : DOCKER_PROBE_TIMEOUT_MS
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms)
      timer.unref()
    })
    const answer = getContainerRuntimeClient().then(
      () => true,
      () => false,
    )
    return await Promise.race([answer, timeout])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

export const DEFAULT_REDIS_IMAGE = 'redis:7.2-alpine'

/** The image Redis test containers run: TEST_REDIS_IMAGE, else DEFAULT_REDIS_IMAGE. */
export function redisImage(): string {
  return process.env.TEST_REDIS_IMAGE || DEFAULT_REDIS_IMAGE
}

async function imageIsLocal(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient, ImageName } = await import('testcontainers')
    return await (await getContainerRuntimeClient()).image.exists(ImageName.fromString(redisImage()))
  } catch {
    return false
  }
}

let dockerAnswer: Promise<boolean> | undefined

/** Whether testcontainers can reach a Docker engine; asked once per process. */
export function isDockerReachable(): Promise<boolean> {
  dockerAnswer ??= probeDocker()
  return dockerAnswer
}

function allowed(backend: 'docker' | 'binary'): boolean {
  const only = process.env.TEST_REDIS_BACKEND
  return !only || only === backend
}

/**
 * The backend tests will use, or undefined when there is none. `ignoreUrl` asks for a backend
 * that can start servers (replica pairs, clusters, sentinels), which a single URL cannot.
 */
export async function detectRedisBackend(
  options: { ignoreUrl?: boolean } = {},
): Promise<RedisBackend | undefined> {
  if (!options.ignoreUrl && process.env.TEST_REDIS_URL) return 'url'
  if (allowed('docker') && (await isDockerReachable())) {
    // With redis-server right here, an image still to pull is not worth it: the binary is faster and
    // needs no registry (an engine may run for other reasons, e.g. .ci/containers.sh, on a machine
    // that can pull nothing). TEST_REDIS_BACKEND=docker insists.
    if (process.env.TEST_REDIS_BACKEND === 'docker' || !redisServerPath() || (await imageIsLocal())) return 'docker'
  }
  if (allowed('binary') && redisServerPath()) return 'binary'
  return undefined
}
