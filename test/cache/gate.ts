/** A door a handler waits at until the test opens it: a computation held open without sleeping. */
export class Gate {
  #open!: () => void
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve))
  /** How many callers have reached the gate. */
  reached = 0

  wait(): Promise<void> {
    this.reached++
    return this.#opened
  }

  open(): void {
    this.#open()
  }
}
