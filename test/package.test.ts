/**
 * What a Koa app gets when it installs the package (issue 16 item 5, issue 10 "The package a Koa
 * app installs"): `npm pack` builds the library, the tarball holds the library only, and a fresh
 * app outside this folder installs it with koa, @koa/router and keyv, typechecks under strict
 * TypeScript (NodeNext and node10 resolution), and serves parameterised routes, an app-level
 * mount and a Keyv-instance store through it.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import ts from 'typescript'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const tsc = join(root, 'node_modules/typescript/bin/tsc')
// What src/cache and adapters import, the operator CLI's three (the package's bin ships with it) and
// uPlot, which the dashboard serves to the browser.
// Keyv is an optional peer: the cache only uses its types, and an app brings its own Keyv 5 or 6.
const LIBRARY_DEPENDENCIES = ['cli-progress', 'cli-table3', 'cluster-key-slot', 'commander', 'ioredis', 'lru-cache', 'on-headers', 'uplot']
const SERVICE_PACKAGES = ['pino', 'piscina', 'prom-client', 'tsx', 'pino-pretty']

function version(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
}

const APP = `
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import Router from '@koa/router'
import Keyv from 'keyv'
import { createResponseCache, OptionError, type ComputeEvent } from 'koa-bucket-cache'
import { MemoryStore } from 'koa-bucket-cache/adapters/memory'
import { RedisStore } from 'koa-bucket-cache/adapters/redis'

const cache = createResponseCache({ store: new Keyv({ store: new MemoryStore() }), namespace: 'shop' })
const computed: ComputeEvent[] = []
cache.on('compute', (event) => computed.push(event))

const router = new Router()
router.get('user', '/users/:id', cache.route({ window: 30 }), (ctx) => {
  ctx.body = { user: ctx.params.id }
})
router.get('/orders/:order/lines/:line', cache.route({ window: 30 }), (ctx) => {
  ctx.body = { order: ctx.params.order, line: ctx.params.line }
})
const api = new Koa()
api.use(router.routes())

const site = new Koa()
site.use(cache.route({ window: 30 }))
site.use((ctx) => {
  ctx.body = { page: ctx.path }
})

const servers: Array<ReturnType<Koa['listen']>> = []
async function listen(app: Koa): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  servers.push(server)
  return 'http://127.0.0.1:' + (server.address() as AddressInfo).port
}

async function get(url: string): Promise<[string | null, unknown]> {
  const response = await fetch(url)
  return [response.headers.get('x-cache'), await response.json()]
}

const apiUrl = await listen(api)
const siteUrl = await listen(site)
const results: Record<string, unknown> = {}
for (const path of ['/users/1', '/users/2', '/users/1', '/orders/7/lines/1', '/orders/7/lines/2']) {
  results['api ' + path + ' ' + Object.keys(results).length] = await get(apiUrl + path)
}
for (const path of ['/a/1', '/a/2', '/a/%31']) results['site ' + path] = await get(siteUrl + path)
results.invalidated = await cache.invalidate('user', { id: '1' })
results.afterInvalidate = await get(apiUrl + '/users/1')
results.keys = (await cache.health()).keys_count
results.routes = [...new Set(computed.map((event) => event.route))].sort()
try {
  new RedisStore({ url: 'nope' })
} catch (error) {
  results.optionError = error instanceof OptionError ? error.option : String(error)
}
await cache.close()
results.closed = await get(siteUrl + '/a/1')
for (const server of servers) server.close()
console.log(JSON.stringify(results))
`

const NODE10 = `
import { RedisStore } from 'koa-bucket-cache/adapters/redis'
import { MemoryStore } from 'koa-bucket-cache/adapters/memory'
import { createResponseCache } from 'koa-bucket-cache'
export const cache = createResponseCache({ store: new MemoryStore(), fallback: false })
export type Store = RedisStore
`

/**
 * The published surface, name by name (issue 15): what each entry point's declarations export,
 * and the members of ResponseCache. The engine behind it (plan, lookup, fill, write, the store,
 * the flights) and its types (Plan, Outcome, Lookup) stay internal, so users cannot come to
 * depend on them. A new public name is added here on purpose, never by accident.
 */
const PUBLIC_EXPORTS: Record<string, string[]> = {
  'koa-bucket-cache': [
    'CacheError', 'CacheEvents', 'CacheHealth', 'CacheOptions', 'CacheResult', 'CacheStore', 'CircuitState', 'ERROR_CODES', 'EntryError',
    'ComputeEvent', 'ConfigError', 'ErrorCode', 'Logger', 'LookupEvent', 'OptionError', 'ResourceParams',
    'ResponseCache', 'RouteOptions', 'StoreExtras', 'StoreInfo', 'bucketOf', 'cacheKey', 'createResponseCache', 'keyPrefix',
  ],
  'koa-bucket-cache/dashboard': [
    'Alert', 'AlertName', 'AlertRuleOptions', 'AlertRules', 'DEFAULT_RULES', 'Dashboard', 'DashboardOptions', 'DashboardView',
    'HistoryOptions', 'HistorySample', 'RouteSnapshot', 'Snapshot', 'WebhookOptions', 'createDashboard',
  ],
  'koa-bucket-cache/adapters/redis': ['IoredisClient', 'PartialCountError', 'PartialDeleteError', 'RedisStore', 'RedisStoreOptions', 'redisConfigured', 'redisOptionsFromEnv'],
  'koa-bucket-cache/adapters/memory': ['MemoryStore', 'MemoryStoreOptions'],
}
/** ResponseCache's own members (EventEmitter's, typed by CacheEvents, come on top). */
const RESPONSE_CACHE_MEMBERS = ['clear', 'close', 'health', 'invalidate', 'invalidateKey', 'pendingInvalidations', 'route']

/** What the installed declarations export, per entry point, and ResponseCache's own public members, read by the TypeScript checker. */
function publishedSurface(app: string): { exports: Record<string, string[]>; members: string[] } {
  const file = join(app, 'surface.ts')
  const entries = Object.keys(PUBLIC_EXPORTS)
  writeFileSync(file, entries.map((entry, i) => `import * as m${i} from '${entry}'\nexport { m${i} }\n`).join(''))
  const program = ts.createProgram([file], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], noEmit: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)!
  const exports: Record<string, string[]> = {}
  let members: string[] = []
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement)) continue
    const entry = (statement.moduleSpecifier as ts.StringLiteral).text
    const module = checker.getSymbolAtLocation(statement.moduleSpecifier)
    const symbols = module ? checker.getExportsOfModule(module) : []
    exports[entry] = symbols.map((symbol) => symbol.name).sort()
    const cache = symbols.find((symbol) => symbol.name === 'ResponseCache')
    if (cache) {
      const own = checker.getDeclaredTypeOfSymbol(cache).getProperties().filter((member) =>
        member.declarations?.some((declaration) => declaration.getSourceFile().fileName.includes('/koa-bucket-cache/')),
      )
      members = own.map((member) => member.name).filter((name) => !name.startsWith('#')).sort()
    }
  }
  return { exports, members }
}

// Packing builds the library and installing reads the registry (or npm's cache): about 45 s on an
// idle machine, much more on a loaded one, so this file gets more than tap's default budget.
t.setTimeout(360_000)

t.test('npm pack ships the library only, and a Koa app outside the repo installs and runs it', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'kbc-app-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))

  // prepack builds dist/ first: a fresh clone packs a working tarball.
  const { stdout: packed } = await run(npm, ['pack', '--silent', '--pack-destination', work], { cwd: root })
  const tarball = join(work, packed.trim().split('\n').pop()!)
  const { stdout: listing } = await run('tar', ['-tzf', tarball])
  const files = listing.trim().split('\n').map((line) => line.replace(/^package\//, ''))
  t.ok(files.includes('LICENSE'), 'a LICENSE file')
  t.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'))
  t.ok(files.includes('dist/adapters/redis.js') && files.includes('dist/adapters/memory.d.ts'))
  t.same(files.filter((f) => f.startsWith('dist/src/energy')), [], 'no energy service')
  t.same(files.filter((f) => f.endsWith('.map')), [], 'no source maps pointing at unshipped sources')
  t.same(files.filter((f) => /^(src|test|adapters|benchmarks)\//.test(f)), [], 'no sources or tests')

  const app = join(work, 'app')
  await run('mkdir', ['-p', app])
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'some-koa-app', private: true, type: 'module' }))
  const wanted = ['koa', '@koa/router', 'keyv', '@types/koa', '@types/koa__router', '@types/node'].filter(
    (name) => existsSync(join(root, 'node_modules', name, 'package.json')),
  )
  await run(
    npm,
    ['install', tarball, ...wanted.map((name) => `${name}@${version(name)}`), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    { cwd: app, timeout: 120_000 },
  )

  const installed = JSON.parse(readFileSync(join(app, 'node_modules/koa-bucket-cache/package.json'), 'utf8')) as {
    dependencies: Record<string, string>
    peerDependencies: Record<string, string>
  }
  t.same(Object.keys(installed.dependencies).sort(), LIBRARY_DEPENDENCIES, 'only what src/cache, adapters and the CLI import')
  t.ok(installed.peerDependencies.koa, 'koa is a peer dependency')
  const present = readdirSync(join(app, 'node_modules'))
  t.same(SERVICE_PACKAGES.filter((name) => present.includes(name)), [], 'none of the energy service\'s packages installed')

  // Strict TypeScript as a user compiles: NodeNext, and node10 through typesVersions.
  writeFileSync(join(app, 'app.ts'), APP)
  writeFileSync(join(app, 'node10.ts'), NODE10)
  const strict = { strict: true, skipLibCheck: false, target: 'ES2022', types: ['node'], noEmitOnError: true }
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' }, files: ['app.ts'] }))
  writeFileSync(
    join(app, 'tsconfig.node10.json'),
    // Declarations were checked by the NodeNext build; this one is about resolving the subpaths.
    JSON.stringify({ compilerOptions: { ...strict, skipLibCheck: true, module: 'CommonJS', moduleResolution: 'node10', ignoreDeprecations: '6.0', noEmit: true, esModuleInterop: true }, files: ['node10.ts'] }),
  )
  await t.resolves(run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }), 'app.ts compiles (NodeNext, strict)')
  await t.resolves(run(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], { cwd: app }), 'the adapters resolve under moduleResolution node10')

  const surface = publishedSurface(app)
  for (const [entry, names] of Object.entries(PUBLIC_EXPORTS)) t.same(surface.exports[entry], [...names].sort(), `${entry} exports exactly its public names`)
  t.same(surface.members, RESPONSE_CACHE_MEMBERS, 'ResponseCache shows its public members only: the engine stays inside')

  const { stdout } = await run(process.execPath, [join(app, 'out/app.js')], { cwd: app, timeout: 30_000 })
  const results = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>
  t.same(results['api /users/1 0'], ['MISS', { user: '1' }])
  t.same(results['api /users/2 1'], ['MISS', { user: '2' }], 'another user, another entry')
  t.same(results['api /users/1 2'], ['HIT', { user: '1' }])
  t.same(results['api /orders/7/lines/2 4'], ['MISS', { order: '7', line: '2' }])
  t.same(results['site /a/2'], ['MISS', { page: '/a/2' }], 'app-level mount: one entry per path')
  t.same(results['site /a/%31'], ['HIT', { page: '/a/1' }], 'the normalised path')
  t.equal(results.invalidated, 1, 'one resource invalidated')
  t.same(results.afterInvalidate, ['MISS', { user: '1' }])
  t.ok((results.keys as number) >= 5, 'health() counts keys through the Keyv instance')
  t.same(results.routes, ['/orders/:order/lines/:line', 'app', 'user'], 'bounded route labels')
  t.equal(results.optionError, 'RedisStore.url')
  t.same(results.closed, ['BYPASS', { page: '/a/1' }], 'after close(): uncached')
})
