/**
 * Publish/subscribe on the store's Redis, for invalidations that must reach every instance.
 * PUBLISH goes out on the store's own connection; the subscription needs a connection of its own
 * (a subscribed connection takes no other command). On a Cluster the subscriber is a plain
 * connection to one master: PUBLISH in a Cluster reaches every node's subscribers, and a plain
 * connection says clearly when it is lost, which the cache needs to know (see onState).
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { PubSub, PubSubState } from './contract.js'
import { absorbLaterSocketErrors } from './redis-wire.js'
import { isCluster } from './redis-config.js'

/** How long to wait before trying another master for the subscription on a Cluster. */
const CLUSTER_RETRY_MS = 500

export class RedisPubSub implements PubSub {
  readonly #client: Redis | Cluster
  #subscriber: Redis | undefined
  #closed = false
  #retry: NodeJS.Timeout | undefined

  constructor(client: Redis | Cluster) {
    this.#client = client
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#client.publish(channel, message)
  }

  /**
   * Subscribes to `channel`. `onState('subscribed')` once the subscription is in place (again,
   * after a reconnection: messages published in between were missed), `onState('down')` as soon
   * as the connection is lost. Resolves once the first attempt is under way; never rejects.
   */
  async subscribe(channel: string, onMessage: (message: string) => void, onState: (state: PubSubState) => void): Promise<void> {
    const connect = (): void => {
      if (this.#closed) return
      const subscriber = new Redis({ ...this.#subscriberOptions(), lazyConnect: true })
      this.#subscriber = subscriber
      let up = false
      subscriber.on('message', (from: string, message: string) => {
        if (from === channel) onMessage(message)
      })
      // Reported through onState; the store logs its own errors.
      subscriber.on('error', () => absorbLaterSocketErrors(subscriber))
      subscriber.on('ready', () => {
        subscriber.subscribe(channel).then(
          () => {
            up = true
            onState('subscribed')
          },
          () => subscriber.disconnect(true),
        )
      })
      subscriber.on('close', () => {
        if (up) onState('down')
        up = false
        if (isCluster(this.#client) && !this.#closed) {
          // The master may be gone for good: try whichever master the Cluster knows now.
          subscriber.disconnect()
          this.#retry = setTimeout(connect, CLUSTER_RETRY_MS)
          this.#retry.unref()
        }
      })
      subscriber.connect().catch(() => {})
    }
    connect()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#retry) clearTimeout(this.#retry)
    this.#subscriber?.disconnect()
  }

  /** The store connection's options (credentials, TLS, db), pointed at one master on a Cluster. */
  #subscriberOptions(): RedisOptions {
    const base: RedisOptions = isCluster(this.#client) ? { ...(this.#firstMaster()?.options ?? {}) } : { ...this.#client.options }
    // A subscriber waits for its server rather than failing fast: reconnect forever, no command timeout.
    return { ...base, enableOfflineQueue: true, commandTimeout: undefined, maxRetriesPerRequest: null, autoResubscribe: false, disableClientInfo: true, retryStrategy: (times: number) => Math.min(1000, 50 * times) }
  }

  #firstMaster(): Redis | undefined {
    const masters = (this.#client as Cluster).nodes('master')
    return masters[Math.floor(Math.random() * masters.length)]
  }
}
