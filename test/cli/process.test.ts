/**
 * The CLI as operators run it: its entry under tsx (`npm run cli`), the confirmation on a real
 * pseudo-terminal (util-linux `script`), and the built bin with its shebang.
 */
import { spawn, execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { chmodSync, readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { keyPrefix } from '../../src/index.js'
import { findOnPath } from '../support/detect.js'
import { freePort } from '../support/probe.js'
import { redisFor } from '../support/redis.js'
import { childEnv, cliProcess, fill, processResult, startApp } from './support.js'

const root = join(import.meta.dirname, '..', '..')

t.test('the entry exits 0, 2 and 3 as a process', async (t) => {
  const server = await redisFor(t)
  const ok = await cliProcess(['keys', '--json'], { REDIS_URL: server.url })
  t.equal(ok.code, 0, ok.stderr)
  t.same(ok.json().keys, [])
  const usage = await cliProcess(['nope'])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /Usage: koa-bucket-cache/)
  const down = await cliProcess(['--connect-timeout', '500', 'health'], { REDIS_URL: `redis://127.0.0.1:${await freePort()}` })
  t.equal(down.code, 3)
  t.equal(down.stderr.trim().split('\n').length, 1, 'one line')
})

const script = findOnPath('script')

t.test('clear on a pseudo-terminal asks, and only yes clears', { skip: script ? false : 'util-linux script is not installed' }, async (t) => {
  const server = await redisFor(t)
  const ns = `cli${randomUUID().slice(0, 8)}`
  const app = await startApp(t, { url: server.url }, ns)
  await fill(app, (route) => keyPrefix(ns, route, false))
  const onTerminal = (answer: string) => {
    // script gives the command a pseudo-terminal as stdin and stdout; our pipe types the answer.
    const command = `${process.execPath} --import tsx src/cli/main.ts -n ${ns} clear`
    const child = spawn(script!, ['-qec', command, '/dev/null'], { cwd: root, env: childEnv({ REDIS_URL: server.url }), stdio: ['pipe', 'pipe', 'pipe'] })
    child.stdin.end(`${answer}\n`)
    return processResult(child)
  }
  const no = await onTerminal('n')
  t.equal(no.code, 1)
  t.match(no.stdout, /Delete all 3 keys under/)
  t.equal(await app.store.countPrefix(`${ns}:`), 3, 'no clears nothing')
  const yes = await onTerminal('y')
  t.equal(yes.code, 0, yes.stdout)
  t.match(yes.stdout, /removed 3 keys/)
  t.equal(await app.store.countPrefix(`${ns}:`), 0)
})

t.test('npm run build emits the bin with a shebang, and it runs from the build', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> }
  const bin = pkg.bin['koa-bucket-cache'] ?? ''
  t.equal(bin, './dist/src/cli/main.js')
  t.match(pkg.scripts.cli, /tsx src\/cli\/main\.ts/)
  // Built beside node_modules (so packages resolve) but not into dist, which package.test.ts builds.
  const out = mkdtempSync(join(root, 'node_modules', '.cli-build-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root })
  const built = join(out, bin.replace('./dist/', ''))
  t.match(readFileSync(built, 'utf8'), /^#!\/usr\/bin\/env node\n/, 'shebang first')
  chmodSync(built, 0o755) // as npm does to a bin target when it installs the package
  const help = await processResult(spawn(built, ['--help'], { stdio: ['ignore', 'pipe', 'pipe'] }))
  t.equal(help.code, 0, help.stderr)
  t.match(help.stdout, /Usage: koa-bucket-cache/)
  const server = await redisFor(t)
  const health = await processResult(spawn(built, ['health', '--json'], { env: { ...process.env, REDIS_URL: server.url }, stdio: ['ignore', 'pipe', 'pipe'] }))
  t.equal(health.code, 0, health.stderr)
  t.equal(health.json().role, 'master')
})
