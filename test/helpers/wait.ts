/**
 * What one test may take before it fails as hung (each file sets it with
 * `setDefaultTimeout(TEST_MS)`). Most take well under a second on a quiet
 * machine; Bun's own 5 s is too short on one as loaded as a shared CI host,
 * where a load of 10 on 2 cores makes a one-second test take five.
 */
export const TEST_MS = 20_000;

/**
 * Waits until `condition` holds, polling every 10 ms. The bound is only a
 * backstop for a loaded machine, never the thing tested: past it the test
 * fails saying what it waited for.
 */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await Bun.sleep(10);
  }
}

/** Text that matches `pattern`: a substring, or a regular expression. */
export function matches(text: string, pattern: string | RegExp): boolean {
  return typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
}
