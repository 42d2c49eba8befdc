/**
 * What a user installs: the compiled entry points behind the package's
 * exports map, with type declarations, importable by the package's own name.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

const root = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  exports: Record<string, { types: string; default: string }>
}

t.test('npm run build emits every export with its .d.ts, importable by name', async (t) => {
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root })
  t.same(Object.keys(pkg.exports).sort(), ['.', './adapters/memory', './adapters/redis', './dashboard'])
  for (const [, target] of Object.entries(pkg.exports)) {
    t.ok(existsSync(join(root, target.default)), `${target.default} built`)
    t.ok(existsSync(join(root, target.types)), `${target.types} built`)
  }
  const main = await import(`${pkg.name}`)
  t.type(main.createResponseCache, 'function')
  const cache = main.createResponseCache({ namespace: 'pkg' })
  t.type(cache.route({ window: 30 }), 'function')
  const { createDashboard } = await import(`${pkg.name}/dashboard`)
  const dashboard = createDashboard(cache)
  t.type(dashboard.middleware, 'function')
  dashboard.close()
  // The page's chart library is served from node_modules: the package must depend on it.
  t.ok((pkg as { dependencies?: Record<string, string> }).dependencies?.uplot, 'uplot is a dependency')
  await cache.close()
  const { RedisStore } = await import(`${pkg.name}/adapters/redis`)
  const { MemoryStore } = await import(`${pkg.name}/adapters/memory`)
  t.type(RedisStore, 'function')
  const store = new MemoryStore({ maxBytes: 1024 })
  await store.set('k', 'v')
  t.equal(await store.get('k'), 'v')
})
