/** Small building blocks of the launcher: one-shot commands, polling, and free ports. */
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'

/**
 * Runs one command on a fresh connection and closes it. No retries and no offline queue: a
 * probe must fail fast so the caller's poll loop decides what happens next.
 */
export async function redisCall(
  host: string,
  port: number,
  command: [string, ...(string | number)[]],
  timeoutMs = 2_000,
): Promise<unknown> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
    enableOfflineQueue: false,
  })
  client.on('error', () => {
    // reported through the rejected command instead
  })
  try {
    await client.connect()
    const [name, ...args] = command
    return await client.call(name, ...args)
  } finally {
    client.disconnect()
  }
}

export async function ping(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  try {
    return (await redisCall(host, port, ['PING'], timeoutMs)) === 'PONG'
  } catch {
    return false
  }
}

/**
 * Calls `check` until it returns true. A thrown error counts as "not yet", except an error
 * marked `fatal` (e.g. the process died), which ends the wait at once.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 15_000, intervalMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (error) {
      if (error instanceof FatalWaitError) throw error
      last = error
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? ` (last error: ${last.message})` : ''
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await sleep(intervalMs)
  }
}

export class FatalWaitError extends Error {
  override name = 'FatalWaitError'
}

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(undefined))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address()
      const found = typeof address === 'object' && address ? address.port : undefined
      server.close(() => resolve(found))
    })
  })
}

/** Ports handed out by this process, so two servers started back to back never share one. */
const handedOut = new Set<number>()

/**
 * A port the OS says is free on 127.0.0.1. With `bus`, port + 10000 (the cluster bus) is free
 * too. Another process can still take it before redis-server binds; callers retry on EADDRINUSE.
 */
export async function freePort({ bus = false } = {}): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await listenOnce(0)
    if (port === undefined || handedOut.has(port)) continue
    if (bus) {
      const busPort = port + 10_000
      if (busPort > 65_535 || handedOut.has(busPort)) continue
      if ((await listenOnce(busPort)) === undefined) continue
      handedOut.add(busPort)
    }
    handedOut.add(port)
    return port
  }
  throw new Error('Could not find a free TCP port on 127.0.0.1')
}
