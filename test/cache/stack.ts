/**
 * A real Koa app served on loopback, with whatever middleware a test mounts around the cache,
 * and a raw HTTP client: fetch would add Accept-Encoding and decompress, hiding what was sent.
 */
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import type { Test } from 'tap'
import type { ResponseCache } from '../../src/index.js'

export interface RawReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  xcache: string | undefined
  body: Buffer
  text: string
  /** Date.now() when the request was sent and when the answer arrived (RFC 9111 section 4.2.3). */
  requestTime: number
  responseTime: number
}

export type Get = (path: string, headers?: Record<string, string>, method?: string) => Promise<RawReply>

/** Serves `app` on 127.0.0.1 until the test ends (then closes the cache too, if given). */
export async function serve(t: Test, app: Koa, cache?: ResponseCache): Promise<Get> {
  app.silent = true
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await cache?.close()
  })
  return (path, headers = {}, method = 'GET') =>
    new Promise((resolve, reject) => {
      const requestTime = Date.now()
      const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const body = Buffer.concat(chunks)
          const xcache = res.headers['x-cache']
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            xcache: typeof xcache === 'string' ? xcache : undefined,
            body,
            text: body.toString(),
            requestTime,
            responseTime: Date.now(),
          })
        })
      })
      req.on('error', reject)
      req.end()
    })
}

/** One header as a string ('' when absent), whatever Node parsed it into. */
export function header(reply: RawReply, name: string): string {
  const value = reply.headers[name]
  return Array.isArray(value) ? value.join(', ') : (value ?? '')
}
