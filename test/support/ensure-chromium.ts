/**
 * The browser tests' Chromium: Debian's `chromium` package, installed with apt-get when we are
 * root on a fresh machine (as ensure-redis.ts installs redis-server); otherwise a reason to skip.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

export const CHROMIUM_PATH = '/usr/bin/chromium'

let found: { path: string } | { skip: string } | undefined

function run(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 })
  return result.status === 0
}

/** The Chromium binary, or why there is none (the test then skips with that reason). */
export function ensureChromium(): { path: string } | { skip: string } {
  found ??= (() => {
    if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH }
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
      return { skip: `no ${CHROMIUM_PATH}, and not root with apt-get to install it: run \`apt-get install -y chromium\`` }
    }
    if (!run('apt-get', ['update']) || !run('apt-get', ['install', '-y', 'chromium']) || !existsSync(CHROMIUM_PATH)) {
      return { skip: 'apt-get could not install chromium (offline?): run `apt-get install -y chromium`' }
    }
    return { path: CHROMIUM_PATH }
  })()
  return found
}
