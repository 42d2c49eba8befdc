/** The engine's internal shapes, shared by the middleware, the capture and the policy; not part of the public API. */
import type { CachedEntry } from './entry.js'
import type { ResolvedRoute } from './options.js'

/** The keys one request touches. */
export interface Plan {
  route: ResolvedRoute
  /** The route name: the label of metrics and events. */
  name: string
  bucket: number
  current: string
  previous: string
  next: string
  /** The accepted content codings that went into the keys, on a route whose answers are compressed. */
  codings?: string
}

/** What running the handler produced: the answer as an entry, and whether others may share it. */
export interface Outcome {
  entry: CachedEntry | undefined
  /** True when the entry may be stored and served to other requests. */
  shared: boolean
  error?: unknown
  /** The entry came from another process (or another process is computing it). */
  peer?: boolean
  /** The handler's status when no entry was made of its answer. */
  status?: number
  /** Why the answer was not stored, when it was not (policy's reason, or 'body-too-large'). */
  notStored?: string
}

export type Lookup =
  | { kind: 'hit'; entry: CachedEntry }
  | { kind: 'stale'; entry: CachedEntry; refresh: boolean }
  | { kind: 'miss' }
