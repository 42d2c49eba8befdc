import { EventEmitter } from 'node:events'

/**
 * A Keyv storage adapter with nothing but the contract, that ignores TTLs
 * (as some Keyv stores do): an entry stays until it is deleted. No extras,
 * so the cache falls back to its best effort for generations and listing.
 */
export class PlainStore extends EventEmitter {
  readonly opts = { dialect: 'plain' }
  namespace?: string
  readonly map = new Map<string, unknown>()

  async get<T>(key: string): Promise<T | undefined> {
    return this.map.get(key) as T | undefined
  }

  async set(key: string, value: unknown): Promise<boolean> {
    this.map.set(key, value)
    return true
  }

  async delete(key: string): Promise<boolean> {
    return this.map.delete(key)
  }

  async clear(): Promise<void> {
    this.map.clear()
  }

  async *iterator<T>(): AsyncGenerator<[string, T], void> {
    for (const [key, value] of [...this.map]) yield [key, value as T]
  }
}
