/**
 * The one payload every hit-throughput case answers: about 2 KB of JSON shaped like an energy
 * answer. Deterministic, so every server process builds the same bytes.
 */
export interface Payload {
  ts: number
  E_terms: Record<string, number>
  agent_summaries: Array<{ agent_id: string; capability: number; mem_util: number; role_probs: Record<string, number> }>
}

export function makePayload(): Payload {
  const agents = []
  for (let i = 0; i < 15; i++) {
    const e = ((i * 37) % 100) / 100
    agents.push({
      agent_id: `agent_${String(i).padStart(4, '0')}`,
      capability: Math.round(((i * 53) % 97) * 1000) / 97000,
      mem_util: Math.round(((i * 29) % 89) * 1000) / 89000,
      role_probs: { E: e, S: Math.round((1 - e) * 600) / 1000, O: Math.round((1 - e) * 400) / 1000 },
    })
  }
  return {
    ts: 1_700_000_000,
    E_terms: { pair: -12.5, hyper: -0.75, entropy: -0.31, reg: 0.02, mem: 0.025, total: -13.515 },
    agent_summaries: agents,
  }
}

export const PAYLOAD_JSON = JSON.stringify(makePayload())
export const PAYLOAD_BYTES = Buffer.from(PAYLOAD_JSON)
