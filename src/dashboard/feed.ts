/** One line of the page's event feed. */
export interface FeedEntry {
  /** ms since the epoch (the dashboard's clock). */
  at: number
  kind: 'circuit' | 'alert' | 'resolved' | 'note'
  message: string
}

/** The most recent events, oldest dropped first. */
export class Feed {
  readonly #entries: FeedEntry[] = []
  readonly #limit: number

  constructor(limit = 100) {
    this.#limit = limit
  }

  add(entry: FeedEntry): void {
    this.#entries.push(entry)
    if (this.#entries.length > this.#limit) this.#entries.shift()
  }

  /** Newest first. */
  recent(): FeedEntry[] {
    return this.#entries.slice().reverse()
  }
}
