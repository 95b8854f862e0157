// Keeps a run's temp directory (logs, persisted KV/R2, probed segments) only when it helps:
// after a failure, or when EDGEPACK_E2E_KEEP is set.
import { it as nodeIt, before as nodeBefore } from 'node:test';
import { rm } from 'node:fs/promises';

export function failureTracker() {
  let failed = false;
  return {
    /** Wraps a test or hook body so that a throw marks the run as failed. */
    track(fn) {
      return async (t) => {
        try {
          return await fn(t);
        } catch (err) {
          failed = true;
          throw err;
        }
      };
    },
    async cleanup(dir) {
      if (!dir) return;
      if (failed || process.env.EDGEPACK_E2E_KEEP) {
        process.stderr.write(`e2e: logs and state kept in ${dir}\n`);
      } else {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A suite file's `it(name, fn)` and `before(fn)` (node:test's) whose failures count, with its
 * `track` and `cleanup` (failureTracker).
 */
export function trackedTests() {
  const { track, cleanup } = failureTracker();
  return {
    it: (name, fn) => nodeIt(name, track(fn)),
    before: (fn) => nodeBefore(track(fn)),
    track,
    cleanup,
  };
}
