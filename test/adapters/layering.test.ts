/**
 * The adapters are the lowest layer (DESIGN.md): nothing under adapters/ imports from src/, so a
 * published adapter never drags the engine (or the service) in, and the arrows point one way.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const ADAPTERS = fileURLToPath(new URL('../../adapters/', import.meta.url))

t.test('adapters/ imports nothing from src/', async (t) => {
  const files = readdirSync(ADAPTERS).filter((name) => name.endsWith('.ts'))
  t.ok(files.length >= 5, `found the adapters (${files.join(', ')})`)
  const upward = files.flatMap((name) => {
    const text = readFileSync(`${ADAPTERS}${name}`, 'utf8')
    return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)]
      .map((match) => match[1]!)
      .filter((spec) => spec.startsWith('..'))
      .map((spec) => `${name} -> ${spec}`)
  })
  t.same(upward, [], 'no import leaves adapters/')
})
