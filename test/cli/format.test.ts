import { PassThrough } from 'node:stream'
import t from 'tap'
import { progress, table } from '../../src/cli/format.js'

function output(isTTY: boolean): { stream: PassThrough & { isTTY: boolean; columns: number }; text(): string } {
  const chunks: Buffer[] = []
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 80 })
  stream.on('data', (chunk: Buffer) => chunks.push(chunk))
  return { stream, text: () => Buffer.concat(chunks).toString() }
}

t.test('a progress bar is drawn only on a terminal, and never with --json', async (t) => {
  for (const [isTTY, json, drawn] of [[true, false, true], [false, false, false], [true, true, false]] as const) {
    const out = output(isTTY)
    const bar = progress(out.stream, 'scanning', 10, json, 0)
    for (let i = 0; i < 10; i++) bar.tick()
    bar.stop()
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(out.text().includes('scanning'), drawn, `tty ${isTTY}, json ${json}`)
  }
})

t.test('a short scan draws no bar at all', async (t) => {
  const out = output(true)
  const bar = progress(out.stream, 'scanning', 10, false, 60_000)
  bar.tick(10)
  bar.stop()
  t.equal(out.text(), '')
})

t.test('tables align columns without borders', async (t) => {
  const text = table(['route', 'keys'], [['gradient', 1], ['monitor', 12]], ['left', 'right'])
  t.equal(text, 'route     keys\ngradient     1\nmonitor     12\n')
})
