/**
 * Invalidations that reach every instance: one message on the namespace's channel per
 * invalidate(), invalidateKey() or clear(), applied by every subscribed instance to what it keeps
 * in its own memory (the in-process tier, the fallback store, a read-only instance's local
 * answers). The instance that invalidates applies it at once and ignores its own message.
 *
 * A subscription that is down may miss messages: the bus says so (onState), and the engine stops
 * reading its in-process copies until the subscription is back, then starts them empty.
 */
import { randomUUID } from 'node:crypto'
import type { Logger, PubSub, PubSubState } from '../../adapters/contract.js'

/** What is dropped: keys under a prefix (a route, a resource, or the namespace) or one key. */
export type Invalidation = { kind: 'prefix'; value: string } | { kind: 'key'; value: string }

/** `from`: the instance that sent it (it has applied it already). */
type Message = Invalidation & { from: string }

/** A publish that fails is tried again this often, this many times (then the bus logs and gives up). */
const RETRY_MS = 250
const RETRIES = 40

export interface BusHandlers {
  /** Another instance invalidated: drop the matching local copies. */
  apply(invalidation: Invalidation): void
  /** 'down': stop trusting local copies; 'subscribed': messages flow (again). */
  state(state: PubSubState): void
}

export class InvalidationBus {
  readonly channel: string
  readonly id = randomUUID()
  sent = 0
  received = 0
  #pubsub: PubSub
  #state: PubSubState | 'connecting' = 'connecting'
  #logger: Logger

  constructor(pubsub: PubSub, namespace: string, logger: Logger) {
    this.#pubsub = pubsub
    // Not a key: a channel name, outside every key prefix of the namespace.
    this.channel = `${namespace}:!invalidations`
    this.#logger = logger
  }

  get state(): PubSubState | 'connecting' {
    return this.#state
  }

  start(handlers: BusHandlers): Promise<void> {
    return this.#pubsub.subscribe(
      this.channel,
      (raw) => {
        const message = parse(raw)
        if (message === undefined || message.from === this.id) return
        this.received++
        handlers.apply({ kind: message.kind, value: message.value })
      },
      (state) => {
        const was = this.#state
        this.#state = state
        if (state === 'down' && was === 'subscribed') {
          this.#logger.warn({ event: 'cache_bus_down', channel: this.channel }, 'Invalidation channel lost: in-process copies are not served until it is back')
        } else if (state === 'subscribed' && was === 'down') {
          this.#logger.info?.({ event: 'cache_bus_up', channel: this.channel }, 'Invalidation channel back: in-process copies start empty')
        }
        handlers.state(state)
      },
    )
  }

  /**
   * Tells the other instances; never throws. A publish that fails is tried again for about ten
   * seconds: an instance that is subscribed while this one cannot publish would otherwise keep
   * serving what was invalidated.
   */
  async publish(invalidation: Invalidation): Promise<void> {
    const message = JSON.stringify({ ...invalidation, from: this.id } satisfies Message)
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#pubsub.publish(this.channel, message)
        this.sent++
        return
      } catch (error) {
        if (attempt >= RETRIES) {
          this.#logger.warn({ event: 'cache_bus_publish_failed', channel: this.channel, error: String(error) }, 'Invalidation not published: other instances keep their in-process copies until they expire')
          return
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref())
      }
    }
  }

  close(): Promise<void> {
    return this.#pubsub.close()
  }
}

function parse(raw: string): Message | undefined {
  try {
    const message = JSON.parse(raw) as { kind?: unknown; value?: unknown; from?: unknown }
    if ((message.kind === 'prefix' || message.kind === 'key') && typeof message.value === 'string' && typeof message.from === 'string') {
      return { kind: message.kind, value: message.value, from: message.from }
    }
  } catch {
    // not ours: ignored
  }
  return undefined
}
