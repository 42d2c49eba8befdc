/**
 * The circuit breaker of the store wrapper: consecutive failures open it, a background probe
 * (half-open) closes it again once the store answers. It decides when, not what: the wrapper
 * says how to probe, what must happen before the store serves again (replayed invalidations),
 * and where reads and writes go meanwhile.
 */
import type { Logger } from '../../adapters/contract.js'
import { describeStoreError } from '../../adapters/store-errors.js'
import type { CacheError } from './errors.js'
import { withTimeout } from './store-calls.js'

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitOptions {
  failureThreshold: number
  probeInterval: number
  /** The probe's time budget. */
  operationTimeout: number
  logger: Logger
  /** Added to each log line: which part of the store this circuit stands for (a Cluster node). */
  label?: Record<string, string>
  /** Asks the store whether it answers; rejects when it does not. */
  probe(): Promise<unknown>
  /** Runs once the probe succeeded, before the store serves again; rejects to stay open. */
  beforeClose(): Promise<void>
  /** A probe failed: the error as the wrapper records and reports it. */
  probeFailed(error: unknown): CacheError
  /** Every change of state. */
  changed(state: CircuitState): void
}

export class Circuit {
  readonly #options: CircuitOptions
  #state: CircuitState = 'closed'
  #failures = 0
  #probe: NodeJS.Timeout | undefined
  /** Moves on when the serving store changes (closed <-> not closed): a snapshot from another epoch may come from another store. */
  #epoch = 0
  /** Code of the last probe failure logged, so a probe refused every second logs once per reason. */
  #probeLogged: string | undefined

  constructor(options: CircuitOptions) {
    this.#options = options
  }

  get state(): CircuitState {
    return this.#state
  }

  get epoch(): number {
    return this.#epoch
  }

  /** Failures since the last success; the circuit opens at failureThreshold. */
  get failures(): number {
    return this.#failures
  }

  succeeded(): void {
    this.#failures = 0
  }

  /** Counts a failure; the threshold opens the circuit, logged once with `error`. */
  failed(error: CacheError): void {
    this.#failures++
    if (this.#state !== 'closed' || this.#failures < this.#options.failureThreshold) return
    this.#setState('open')
    this.#options.logger.warn(
      { event: 'cache_store_down', ...this.#options.label, ...describeStoreError(error) },
      'Cache store failing: serving from the fallback until it answers again',
    )
    this.#scheduleProbe()
  }

  /** Probes now rather than at the next interval (the store says it talks to a new server). */
  probeNow(): void {
    if (this.#state !== 'open') return
    if (this.#probe) clearTimeout(this.#probe)
    void this.#runProbe()
  }

  close(): void {
    if (this.#probe) clearTimeout(this.#probe)
    this.#probe = undefined
  }

  #scheduleProbe(): void {
    this.#probe = setTimeout(() => void this.#runProbe(), this.#options.probeInterval)
    this.#probe.unref()
  }

  async #runProbe(): Promise<void> {
    this.#setState('half-open')
    try {
      await withTimeout(this.#options.probe(), this.#options.operationTimeout, 'probe')
      await this.#options.beforeClose()
      this.#failures = 0
      this.#probeLogged = undefined
      this.#setState('closed')
      this.#options.logger.info?.({ event: 'cache_store_up', ...this.#options.label }, 'Cache store answers again: back from the fallback')
    } catch (error) {
      this.#logProbeFailure(this.#options.probeFailed(error))
      this.#setState('open')
      this.#scheduleProbe()
    }
  }

  /** Once per distinct reason: a probe refused every second must not flood the log. */
  #logProbeFailure(error: CacheError): void {
    const reason = `${error.code}:${(error.cause as { message?: string } | undefined)?.message ?? error.message}`
    if (reason === this.#probeLogged) return
    this.#probeLogged = reason
    this.#options.logger.warn(
      { event: 'cache_probe_failed', ...this.#options.label, ...describeStoreError(error) },
      'Cache store probe failed: still serving from the fallback',
    )
  }

  #setState(state: CircuitState): void {
    if (state === this.#state) return
    // Only a change of serving store moves the epoch: a probe that fails (open, half-open, open)
    // must not make what was computed from the fallback meanwhile unstorable there (issue 19, item 5).
    if ((state === 'closed') !== (this.#state === 'closed')) this.#epoch++
    this.#state = state
    this.#options.changed(state)
  }
}

export interface NodeCircuitsOptions extends Omit<CircuitOptions, 'label' | 'probe' | 'changed'> {
  /** Asks one server whether it answers. */
  probe(node: string): Promise<unknown>
  changed(node: string, state: CircuitState): void
}

/** One circuit per server of a store that spreads its keys (a Cluster's masters), made on first use. */
export class NodeCircuits {
  readonly #circuits = new Map<string, Circuit>()
  readonly #options: NodeCircuitsOptions

  constructor(options: NodeCircuitsOptions) {
    this.#options = options
  }

  of(node: string): Circuit {
    let circuit = this.#circuits.get(node)
    if (!circuit) {
      const options = this.#options
      circuit = new Circuit({ ...options, label: { node }, probe: () => options.probe(node), changed: (state) => options.changed(node, state) })
      this.#circuits.set(node, circuit)
    }
    return circuit
  }

  /** The servers whose circuit is not closed. */
  get open(): string[] {
    return [...this.#circuits].flatMap(([node, circuit]) => (circuit.state === 'closed' ? [] : [node]))
  }

  close(): void {
    for (const circuit of this.#circuits.values()) circuit.close()
  }
}
