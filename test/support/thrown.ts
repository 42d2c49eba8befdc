/** What `run` throws (or the rejection of what it returns), undefined when it does not. */
export async function thrown(run: () => unknown): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  return undefined
}

/** What `run` throws at once, undefined when it does not: for checks that must fail synchronously. */
export function thrownAtOnce(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  return undefined
}
