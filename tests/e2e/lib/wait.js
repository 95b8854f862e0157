// Polling with a deadline, for live state that appears over time.
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `probe` every `intervalMs` until it returns a truthy value, which is returned.
 * On timeout throws, naming `what` and the last value or error seen.
 */
export async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${detail}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Calls `fn` (async, catching its own errors) at once and then `intervalMs` after each call
 * returns, until stopped. Returns { stop }: `stop()` resolves once the loop has ended.
 */
export function repeat(fn, intervalMs) {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await fn();
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
