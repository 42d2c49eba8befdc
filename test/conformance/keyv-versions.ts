/**
 * The Keyv majors the conformance suite drives the adapters through: Keyv 5 (the `keyv`
 * dependency) and Keyv 6 (the `keyv6` devDependency, an npm alias of keyv@6). Keyv 6 needs
 * Node >= 22.19, so on older Node it is listed with the reason it is skipped.
 */
import type { KeyvStoreAdapter } from 'keyv'
import Keyv5 from 'keyv'

/** The members of a Keyv instance the suite uses; Keyv 5 and Keyv 6 both have them. */
export interface KeyvLike {
  readonly namespace: string | undefined
  get(key: string): Promise<unknown>
  getMany(keys: string[]): Promise<unknown[]>
  set(key: string, value: unknown, ttl?: number): Promise<unknown>
  setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<unknown>
  has(key: string): Promise<boolean>
  delete(key: string): Promise<unknown>
  deleteMany(keys: string[]): Promise<unknown>
  clear(): Promise<void>
  disconnect(): Promise<void>
  on(event: 'error', listener: (error: unknown) => void): unknown
  /** Keyv 5 builds one only for the dialects it knows (redis yes, memory no); Keyv 6 always. */
  iterator?: (() => AsyncIterable<[unknown, unknown]>) | undefined
}

export interface KeyvVersion {
  name: string
  /** What this Keyv puts between the namespace and the key when it prefixes for the store. */
  separator: ':' | '::'
  /** Why this Keyv cannot run here; undefined when it can. */
  skip: string | undefined
  create(options: { store: KeyvStoreAdapter; namespace?: string }): KeyvLike
}

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
/** keyv@6's engines field: ">= 22.19.0". */
const nodeRunsKeyv6 = major > 22 || (major === 22 && minor >= 19)

const Keyv6 = nodeRunsKeyv6 ? (await import('keyv6')).default : undefined

export const keyv5: KeyvVersion = {
  name: 'Keyv 5',
  separator: ':',
  skip: undefined,
  create(options) {
    return new Keyv5(options) as unknown as KeyvLike
  },
}

export const keyv6: KeyvVersion = {
  name: 'Keyv 6',
  separator: '::',
  skip: Keyv6 ? undefined : `Keyv 6 needs Node >= 22.19; this is Node ${process.versions.node}`,
  create(options) {
    if (!Keyv6) throw new Error(keyv6.skip)
    return new Keyv6(options) as unknown as KeyvLike
  },
}

export const keyvVersions: KeyvVersion[] = [keyv5, keyv6]
