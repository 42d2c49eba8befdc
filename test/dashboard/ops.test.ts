/**
 * The Prometheus rules and the Grafana dashboard under ops/: they parse, and every metric their
 * expressions name is one the energy service's /metrics exports.
 */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { DEFAULT_RULES } from '../../src/dashboard/index.js'
import { request, ROOT, serveInProcess } from '../energy/support.js'

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'])

/** Metric names in a PromQL expression: identifiers left once strings, label sets, ranges, groupings and functions are removed. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const names = [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)].filter((m) => m[2] === undefined && !PROMQL_WORDS.has(m[1]!.toLowerCase())).map((m) => m[1]!)
  return [...new Set(names)]
}

/** Series names /metrics exposes: each family's name, plus _bucket, _sum and _count for histograms. */
function exported(text: string): Set<string> {
  const names = new Set<string>()
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!)
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name! + suffix)
  }
  return names
}

t.test('metricNames reads PromQL as expected', async (t) => {
  t.same(metricNames('histogram_quantile(0.99, sum by (route, le) (rate(x_bucket{a="b",c=~"d|e"}[5m]))) > 20 and on() y == 1'), ['x_bucket', 'y'])
})

t.test('the rules file and the Grafana dashboard name only metrics /metrics exports', async (t) => {
  const { base } = await serveInProcess(t)
  await request(base, '/energy/monitor') // a computation, so every series family has samples
  const metrics = exported((await request(base, '/metrics')).text)
  t.ok(metrics.has('cache_store_memory_used_bytes') && metrics.has('cache_lookup_duration_seconds_count'), 'the exporter is read')

  const rules = parse(readFileSync(`${ROOT}ops/prometheus/cache-alerts.yml`, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
  const alerts = rules.groups.flatMap((g) => g.rules)
  t.equal(alerts.length, Object.keys(DEFAULT_RULES).length, 'one Prometheus alert per in-process rule')
  for (const rule of alerts) {
    const names = metricNames(rule.expr)
    t.ok(names.length > 0, `${rule.alert} names a metric`)
    for (const name of names) t.ok(metrics.has(name), `${rule.alert}: ${name} is exported`)
  }

  const dashboard = JSON.parse(readFileSync(`${ROOT}ops/grafana/cache-dashboard.json`, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> }
  t.ok(dashboard.panels.length >= 8)
  for (const panel of dashboard.panels) {
    t.ok(panel.targets.length > 0, `${panel.title} has a query`)
    for (const target of panel.targets) for (const name of metricNames(target.expr)) t.ok(metrics.has(name), `${panel.title}: ${name} is exported`)
  }
})
