import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { PAGE_SCRIPT, PAGE_STYLE, pageHtml } from './page.js'

export interface Asset {
  type: string
  body: string | Buffer
}

const require = createRequire(import.meta.url)

/** uPlot's files, read once from the installed package (a dependency, so the published package has it). */
function uplot(file: string): () => Buffer {
  let body: Buffer | undefined
  return () => (body ??= readFileSync(require.resolve(`uplot/dist/${file}`)))
}

const ASSETS: Record<string, () => Asset> = {
  'dashboard.js': () => ({ type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT }),
  'dashboard.css': () => ({ type: 'text/css; charset=utf-8', body: PAGE_STYLE }),
  'uplot.js': ((read) => () => ({ type: 'text/javascript; charset=utf-8', body: read() }))(uplot('uPlot.iife.min.js')),
  'uplot.css': ((read) => () => ({ type: 'text/css; charset=utf-8', body: read() }))(uplot('uPlot.min.css')),
}

/** The page for a dashboard mounted at `base`; it loads only the assets below, from the same server. */
export function pageFor(base: string): Asset {
  return { type: 'text/html; charset=utf-8', body: pageHtml(base) }
}

/** The files the page loads, all served from this package: the page makes no outside request. */
export function assetFor(name: string): Asset | undefined {
  return Object.hasOwn(ASSETS, name) ? ASSETS[name]!() : undefined
}
