/**
 * Nothing the launcher starts may outlive the test process. Three layers:
 * - each server's stop(), registered by the tests with t.teardown;
 * - process.on('exit'): synchronously SIGKILLs whatever is still tracked and removes the scratch
 *   directory (covers a failing test, a forgotten stop(), process.exit());
 * - a watchdog shell, holding the pids on its stdin: when the test process dies without running
 *   'exit' handlers (tap's timeout ends a test file with SIGKILL), the pipe closes and the
 *   watchdog kills the servers itself.
 * Containers are removed by testcontainers' reaper (Ryuk) when the process goes.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Tracked {
  /** Must be synchronous: it runs inside process.on('exit'). */
  killSync(): void
}

const live = new Set<Tracked>()
let root: string | undefined
let exitHookInstalled = false

function killAllSync(): void {
  for (const item of live) {
    try {
      item.killSync()
    } catch {
      // already gone
    }
  }
  live.clear()
  if (root) rmSync(root, { recursive: true, force: true })
}

/** Registers something to kill at exit; returns the function that forgets it. */
export function track(item: Tracked): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', killAllSync)
  }
  live.add(item)
  return () => {
    live.delete(item)
  }
}

/** One scratch directory per test process; every server gets a directory inside it. */
export function scratchRoot(): string {
  root ??= mkdtempSync(join(tmpdir(), 'kbc-redis-'))
  return root
}

// `del` removes a pid once its process has exited, so a reused pid is never killed by mistake.
const WATCHDOG_SCRIPT = `
pids=' '
while read -r op pid; do
  case "$op" in
    add) pids="$pids$pid " ;;
    del) case "$pids" in *" $pid "*) pids="\${pids%% $pid *} \${pids#* $pid }" ;; esac ;;
  esac
done
for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
rm -rf "$1"
`

let watchdog: ChildProcess | undefined

function tell(line: string): void {
  if (!watchdog) {
    // detached: a Ctrl-C sent to the terminal's process group must not kill the watchdog first
    watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'kbc-redis-watchdog', scratchRoot()], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    })
    watchdog.on('error', () => {
      // no sh: the exit hook still covers ordinary exits
    })
    watchdog.stdin?.on('error', () => {})
    watchdog.unref()
    ;(watchdog.stdin as Socket | null)?.unref()
  }
  watchdog.stdin?.write(line)
}

/** Hands a pid to the watchdog; returns the function to call once the process has exited. */
export function guardPid(pid: number): () => void {
  tell(`add ${pid}\n`)
  return () => tell(`del ${pid}\n`)
}
