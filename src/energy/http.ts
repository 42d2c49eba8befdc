/**
 * The energy API's HTTP plumbing: Node's server with the limits of a JSON API, client errors kept
 * out of the error log, and a shutdown that lets keep-alive clients finish.
 */
import { createServer, type Server } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import type Koa from 'koa'
import type { Logger } from 'pino'
import type { HttpLimits } from './config.js'
import { LogLimit } from './log-limit.js'

/** Node's HTTP server with the limits of a JSON API (issue 23, finding 6) and quiet client errors. */
export function httpServer(app: Koa, limits: HttpLimits, clientErrors: ClientErrorLog): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    app.callback(),
  )
  server.maxConnections = limits.maxConnections
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    clientErrors(error)
    // What Node does without a listener: a bare status when nothing was written yet, then close.
    if (socket.writable && socket.bytesWritten === 0 && error.code !== 'ECONNRESET') {
      socket.end(`HTTP/1.1 ${CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`)
    } else {
      socket.destroy()
    }
  })
  return server
}

const CLIENT_ERROR_STATUS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
}

export type ClientErrorLog = (error: NodeJS.ErrnoException) => void

/**
 * A malformed request or a client that hangs up is the client's doing (issue 17, finding 6): one
 * debug line per second at most, with the parser's code, never the error object (its socket makes
 * it unserialisable).
 */
export function clientErrorLog(logger: Logger): ClientErrorLog {
  const limit = new LogLimit(1000)
  return function logClientError(error) {
    const suppressed = limit.take()
    if (suppressed === undefined || !logger.isLevelEnabled('debug')) return
    logger.debug({ event: 'client_error', code: error.code, reason: error.message, suppressed }, `client error ${error.code ?? ''}`)
  }
}

/** Parser errors (HPE_*) and resets reach Koa too, through the socket of a request in progress. */
export function isClientError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('HPE_') || code === 'ECONNRESET' || code === 'EPIPE')
}

export interface RequestTracker {
  /** Requests whose response is not done yet. */
  active(): number
  /** performance.now() when a request last arrived or ended. */
  lastActivity(): number
}

export function trackRequests(server: Server): RequestTracker {
  let active = 0
  let last = performance.now()
  server.on('request', (_req, res) => {
    active++
    last = performance.now()
    res.once('close', () => {
      active--
      last = performance.now()
    })
  })
  return { active: () => active, lastActivity: () => last }
}

/** How long no request must have been in flight before idle keep-alive connections are closed. */
const DRAIN_QUIET_MS = 250

/**
 * Stops accepting connections and resolves once every one has ended. In-flight requests finish and
 * their answers say `Connection: close`; a keep-alive connection is closed while idle only once no
 * request has been in flight for DRAIN_QUIET_MS, so a request already on its way on an idle
 * connection is answered rather than reset (issue 19: SIGTERM gave clients ECONNRESET when idle
 * connections were destroyed while requests were still arriving).
 */
export function stopHttp(server: Server, requests: RequestTracker): Promise<void> {
  if (!server.listening) return Promise.resolve()
  return new Promise((resolve) => {
    const sweep = setInterval(() => {
      if (requests.active() === 0 && performance.now() - requests.lastActivity() >= DRAIN_QUIET_MS) server.closeIdleConnections()
    }, DRAIN_QUIET_MS / 5)
    // http.Server#close() (Node 19+) destroys idle connections at once, which is the race above;
    // net.Server's close only stops accepting and calls back once every connection has ended.
    NetServer.prototype.close.call(server, () => {
      clearInterval(sweep)
      server.close() // now only stops the timer that checks the request timeouts
      resolve()
    })
  })
}
