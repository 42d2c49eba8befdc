/**
 * `npm test`'s pre-flight: make sure the tests will find a real Redis (see detect.ts), installing
 * Debian's redis-server when we are root on a fresh machine (CI), and otherwise failing with one
 * line that says what to do.
 *
 * Debian's package postinstall may try to start a redis-server service on 6379; that is harmless
 * (or fails harmlessly without an init system): the tests start their own servers on free ports.
 */
import { spawnSync } from 'node:child_process'
import { detectRedisBackend, findOnPath, NO_REDIS_MESSAGE } from './detect.js'

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return result.status === 0
}

async function main(): Promise<number> {
  const backend = await detectRedisBackend()
  if (backend) {
    console.log(`tests will use Redis from: ${backend === 'url' ? 'TEST_REDIS_URL' : backend}`)
    return 0
  }
  if (process.getuid?.() !== 0 || !findOnPath('apt-get')) {
    console.error(NO_REDIS_MESSAGE)
    return 1
  }
  console.log("redis-server not found: installing Debian's redis-server with apt-get (needed by the tests)")
  if (!run('apt-get', ['update']) || !run('apt-get', ['install', '-y', 'redis-server'])) {
    console.error(`apt-get could not install redis-server. ${NO_REDIS_MESSAGE}`)
    return 1
  }
  if (!findOnPath('redis-server') || !run('redis-server', ['--version'])) {
    console.error(`redis-server was installed but does not run. ${NO_REDIS_MESSAGE}`)
    return 1
  }
  return 0
}

// exit explicitly: a Docker probe may leave sockets open that would keep the process alive
process.exit(await main())
