/**
 * The SeedCore energy service as it ships (createEnergyServer with the configuration read from
 * the environment: ENERGY_AGENTS, REDIS_URL...), listening on a free loopback port for the
 * before/after scenario.
 */
import { loadConfig } from '../../src/energy/config.js'
import { createEnergyServer } from '../../src/energy/server.js'
import { attachIpc } from './child.js'

const config = loadConfig({ ...process.env, PORT: '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
const energy = createEnergyServer(config)
const address = await energy.listen()
attachIpc(address.port, {
  commands: {
    health: () => energy.cache.health(),
    config: () => ({ agents: config.agents, threads: config.threads ?? null, redis: config.redis !== undefined }),
    /** Drops every bucket of one endpoint, so that the next request computes it (an uncached answer). */
    invalidate: (args) => energy.cache.invalidate(String(args)),
  },
  close: () => energy.close(),
})
