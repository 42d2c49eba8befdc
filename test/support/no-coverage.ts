/**
 * For a child process whose coverage must not count (issue 10). tap's processinfo hooks every
 * child a test spawns (it puts its NODE_OPTIONS back even when a test strips them) and records
 * the child's coverage; tap then merges coverage per file before mapping it back through one
 * source map, so a child that compiled src/ with tsx rather than tap's own loader put its counts
 * on the wrong lines of every file both loaded (comments "uncovered", the totals moving by a
 * point or more between full runs). Such children add these variables to their environment.
 */
export const NO_COVERAGE = { _TAPJS_PROCESSINFO_COVERAGE_: '0' } as const
