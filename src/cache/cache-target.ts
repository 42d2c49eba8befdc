import type { Context } from 'koa'
import type { ResolvedRoute } from './options.js'
import { normalisePath, pathSegment, resourceSegment } from './keys.js'

/** The route name when cache.route() is mounted outside a router and given no `name`. */
export const APP_ROUTE_NAME = 'app'

/** What a request is cached under: the route name and the resource segment ('' for none). */
export interface CacheTarget {
  name: string
  resource: string
}

// Characters that make a @koa/router pattern (path-to-regexp 8) or a RegExp's text match more than
// one path; a pattern without them is one path, so its parameters (none) identify the resource.
const PATTERN_SYNTAX = /[:*?+(){}[\]^$|\\]/

/**
 * Under @koa/router the resource is the route's parameters, so `/users/1` and `/users/2` never
 * share an entry and a route without parameters keeps the seed's keys. When the parameters do not
 * name the path (app.use, router.use, a RegExp route, an optional parameter left out), the
 * normalised path is the resource and the route name is the `name` option or `app`: one name per
 * mount, however many paths, so metric labels and per-name state stay bounded.
 * Reads @koa/router 15's `_matchedRoute` and `_matchedRouteName`: it has no public equivalent.
 */
export function cacheTarget(ctx: Context, route: ResolvedRoute): CacheTarget {
  const routed = ctx as Context & { _matchedRouteName?: string; _matchedRoute?: string | RegExp; params?: Record<string, string | undefined> }
  const pattern = routed._matchedRoute
  if (pattern === undefined) return { name: route.name ?? APP_ROUTE_NAME, resource: pathSegment(normalisePath(ctx.path)) }
  const name = route.name ?? routed._matchedRouteName ?? String(pattern)
  const resource = resourceSegment(routed.params)
  if (resource !== '') return { name, resource }
  if (typeof pattern === 'string' && !PATTERN_SYNTAX.test(pattern)) return { name, resource: '' }
  return { name, resource: pathSegment(normalisePath(ctx.path)) }
}
