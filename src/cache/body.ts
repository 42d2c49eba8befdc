/** A Koa response body as bytes for storing, without losing any byte of what the client gets. */
import { Readable } from 'node:stream'
import type { Context } from 'koa'

/** The response body as bytes, or undefined when it cannot be stored (a stream over the limit). */
export async function bodyBytes(ctx: Context, limit: number): Promise<Buffer | undefined> {
  const body: unknown = ctx.body
  if (body === undefined || body === null) return Buffer.alloc(0)
  if (Buffer.isBuffer(body)) return body
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof Readable) {
    const read = await readUpTo(body, limit)
    // The stream is drained either way: the client gets the bytes read, or the rest replayed.
    ctx.body = 'body' in read ? read.body : read.rest
    return 'body' in read ? read.body : undefined
  }
  return Buffer.from(JSON.stringify(body)) // what Koa itself would send
}

async function readUpTo(stream: Readable, limit: number): Promise<{ body: Buffer } | { rest: Readable }> {
  const chunks: Buffer[] = []
  let size = 0
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
  for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
    const chunk = Buffer.isBuffer(step.value) ? step.value : Buffer.from(step.value)
    chunks.push(chunk)
    size += chunk.length
    if (size > limit) {
      const remaining = { [Symbol.asyncIterator]: () => iterator }
      return { rest: Readable.from(replay(chunks, remaining)) }
    }
  }
  return { body: Buffer.concat(chunks, size) }
}

async function* replay(head: Buffer[], tail: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer | string> {
  yield* head
  yield* tail
}
