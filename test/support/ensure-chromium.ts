/**
 * The browser tests' Chromium: Debian's `chromium` package. `npm test`'s pre-flight runs this file,
 * which installs it with apt-get when we are root on a fresh machine (as ensure-redis.ts installs
 * redis-server) and otherwise says why the browser tests will skip; it never fails the run. The
 * tests themselves only look (an install inside a test would outlast tap's timeout).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

export const CHROMIUM_PATH = '/usr/bin/chromium'

const HOW = 'run `apt-get install -y chromium` (npm test does it when root)'

/** The Chromium binary, or why there is none (the browser tests then skip with that reason). */
export function findChromium(): { path: string } | { skip: string } {
  return existsSync(CHROMIUM_PATH) ? { path: CHROMIUM_PATH } : { skip: `no ${CHROMIUM_PATH}: ${HOW}` }
}

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  return result.status === 0
}

function main(): void {
  if (existsSync(CHROMIUM_PATH)) return console.log(`browser tests will use ${CHROMIUM_PATH}`)
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    return console.warn(`browser tests will skip: no ${CHROMIUM_PATH}, and not root with apt-get to install it; ${HOW}`)
  }
  console.log("chromium not found: installing Debian's chromium with apt-get (needed by the browser tests)")
  if (!run('apt-get', ['update']) || !run('apt-get', ['install', '-y', 'chromium']) || !existsSync(CHROMIUM_PATH)) {
    console.warn('browser tests will skip: apt-get could not install chromium')
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main()
