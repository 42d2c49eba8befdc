/** The error catalogue lives with the adapters, the lowest layer that raises these errors. */
import { CacheError } from '../../adapters/errors.js'

export * from '../../adapters/errors.js'

/** An entry that cannot be encoded (a status, header or body out of bounds): the answer is served, not stored. */
export class EntryError extends CacheError {
  constructor(message: string) {
    super('E_ENTRY', message)
    this.name = 'EntryError'
  }
}
