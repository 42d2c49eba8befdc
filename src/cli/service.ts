/** Talking to a running service over HTTP (--url): its /health, and timed requests for `warm`. */
import { CliError, EXIT } from './context.js'

export interface Timed {
  path: string
  status: number | null
  xCache: string | null
  ms: number
  error: string | null
}

/** One GET, timed; a network failure or timeout is recorded in `error`, never thrown. */
export async function timedGet(base: string, path: string, timeoutMs: number): Promise<Timed & { body: string }> {
  const started = performance.now()
  try {
    const response = await fetch(base + path, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' })
    const body = await response.text()
    const ms = performance.now() - started
    return { path, status: response.status, xCache: response.headers.get('x-cache'), ms, error: null, body }
  } catch (error) {
    return { path, status: null, xCache: null, ms: performance.now() - started, error: reason(error), body: '' }
  }
}

function reason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out'
  // fetch wraps the socket error (ECONNREFUSED, ENOTFOUND) as its cause.
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
}

/** The service's /health body; exit code 3 when the service cannot be reached. */
export async function serviceHealth(base: string, timeoutMs: number): Promise<{ httpStatus: number; body: Record<string, unknown> }> {
  const reply = await timedGet(base, '/health', timeoutMs)
  if (reply.status === null) throw new CliError(`cannot reach the service at ${base}: ${reply.error}`, EXIT.unreachable)
  try {
    return { httpStatus: reply.status, body: JSON.parse(reply.body) as Record<string, unknown> }
  } catch {
    throw new CliError(`${base}/health answered ${reply.status} with a body that is not JSON`)
  }
}
