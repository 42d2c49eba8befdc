/**
 * The energy service's own error catalogue, on the library's CacheError base: the routes answer
 * by code (503, 504...), and the codes are what the log and the metrics count.
 */
import { CacheError } from '../cache/errors.js'
import type { Endpoint } from './worker.js'

export const SERVICE_ERROR_CODES = {
  E_COMPUTE_TIMEOUT: 'a computation ran past its deadline (queued or running)',
  E_COMPUTE_CANCELLED: 'a queued computation was dropped: every client that wanted it went away',
  E_POOL_BUSY: 'the worker queue is full: refused at once',
  E_POOL_CLOSED: 'compute() after the pool was closed',
  E_WORKER_MISSING: 'the worker module is not next to the pool module (a broken build)',
} as const

export type ServiceErrorCode = keyof typeof SERVICE_ERROR_CODES

export class ServiceError extends CacheError<ServiceErrorCode> {
  constructor(code: ServiceErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'ServiceError'
  }
}

/** compute() after close(). */
export class PoolClosedError extends ServiceError {
  constructor() {
    super('E_POOL_CLOSED', 'the energy pool is closed')
    this.name = 'PoolClosedError'
  }
}

export class ComputeTimeoutError extends ServiceError {
  /**
   * @param queued the deadline passed before any worker took the computation: the pool was busy,
   *   which says nothing about the answer, so such a timeout must not be cached as one.
   */
  constructor(readonly endpoint: Endpoint, readonly timeoutMs: number, readonly queued: boolean, options?: { cause?: unknown }) {
    super('E_COMPUTE_TIMEOUT', `energy ${endpoint} computation exceeded ${timeoutMs} ms ${queued ? 'waiting for a worker' : 'and was abandoned'}`, options)
    this.name = 'ComputeTimeoutError'
  }
}

/** The queue is full: answered at once rather than queued behind work nobody may wait for. */
export class PoolBusyError extends ServiceError {
  constructor(readonly endpoint: Endpoint, readonly retryAfterMs: number) {
    super('E_POOL_BUSY', `energy ${endpoint} computation refused: the worker queue is full`)
    this.name = 'PoolBusyError'
  }
}

/** Dropped from the queue: every client that wanted it went away. */
export class ComputeCancelledError extends ServiceError {
  constructor(readonly endpoint: Endpoint, options?: { cause?: unknown }) {
    super('E_COMPUTE_CANCELLED', `energy ${endpoint} computation cancelled before it started: nobody waits for it`, options)
    this.name = 'ComputeCancelledError'
  }
}
