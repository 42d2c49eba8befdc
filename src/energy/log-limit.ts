/**
 * At most one log line per interval for events anyone on the network can cause (failed tokens,
 * malformed requests): the log records that they happen and how often, and cannot be flooded.
 */
export class LogLimit {
  #last = Number.NEGATIVE_INFINITY
  #suppressed = 0

  constructor(readonly intervalMs: number, private readonly clock: () => number = () => performance.now()) {}

  /** The number of events left unlogged since the last line when this one may be logged; undefined otherwise. */
  take(): number | undefined {
    const now = this.clock()
    if (now - this.#last < this.intervalMs) {
      this.#suppressed++
      return undefined
    }
    this.#last = now
    const suppressed = this.#suppressed
    this.#suppressed = 0
    return suppressed
  }
}
