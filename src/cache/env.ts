/** Environment parsers live with the adapters, the lowest layer that reads REDIS_* variables. */
export * from '../../adapters/env.js'
