#!/usr/bin/env node
/** The `koa-bucket-cache` command: `npm run cli -- <command>` here, the package's bin once built. */
import { run } from './program.js'

// `koa-bucket-cache keys | head` closes the pipe early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw error
})

const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env })
process.exitCode = code
// The answer is written; a reconnect timer left by an unreachable server must not hold the exit.
setTimeout(() => process.exit(code), 500).unref()
