// Bounded polling for tests: wait until something holds, or fail saying what never happened.

/**
 * Calls `check` until it gives a truthy value and returns that value; throws `timed out waiting for <what>`
 * once `ms` have passed. A check that throws fails the wait at once (wrap it to retry through errors).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  ms = 5000,
  everyMs = 20,
): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(everyMs)
  }
}
