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
