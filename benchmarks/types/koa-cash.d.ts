// koa-cash 5 ships no types; this is its documented option set and the ctx methods it adds.
declare module 'koa-cash' {
  import type { Middleware } from 'koa'

  namespace koaCash {
    interface Options {
      get(key: string, maxAge: number): unknown
      set(key: string, value: unknown, maxAge: number): unknown
      maxAge?: number
      hash?: (ctx: unknown) => string
      compression?: boolean
      setCachedHeader?: boolean
    }
  }

  function koaCash(options: koaCash.Options): Middleware
  export = koaCash
}
