import { redisCall } from '../../test/support/probe.js'
import type { RedisServer } from './redis.js'

/** CPU time redis-server has used so far, in microseconds (INFO cpu: used_cpu_user + used_cpu_sys). */
export async function redisCpuMicros(server: RedisServer): Promise<number> {
  const text = String(await redisCall(server.host, server.port, ['INFO', 'cpu']))
  let total = 0
  for (const line of text.split('\r\n')) {
    const [name, value] = line.split(':')
    if (name === 'used_cpu_user' || name === 'used_cpu_sys') total += Number(value) * 1e6
  }
  return total
}

/** redis-server's process id (INFO server), to place it on a CPU. */
export async function redisPid(server: RedisServer): Promise<number> {
  const text = String(await redisCall(server.host, server.port, ['INFO', 'server']))
  const line = text.split('\r\n').find((l) => l.startsWith('process_id:'))
  return line ? Number(line.slice('process_id:'.length)) : -1
}

/**
 * Commands Redis has run so far, by name (INFO commandstats), less the ones no request sends:
 * INFO (this probe, and RedisStore's periodic role check), connection set-up (HELLO, CLIENT) and
 * PING (the circuit breaker's probe: another case's server, idle but with its circuit open after
 * its own run, pings while this case is measured).
 */
export async function redisCommandCalls(server: RedisServer): Promise<Map<string, number>> {
  const text = String(await redisCall(server.host, server.port, ['INFO', 'commandstats']))
  const calls = new Map<string, number>()
  for (const line of text.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (!match) continue
    const name = match[1]!
    if (name === 'info' || name === 'hello' || name === 'ping' || name.startsWith('client')) continue
    calls.set(name, Number(match[2]))
  }
  return calls
}

/** What ran between two readings of redisCommandCalls, by name; names that did not move are left out. */
export function commandsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const ran: Record<string, number> = {}
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0)
    if (delta > 0) ran[name] = delta
  }
  return ran
}
