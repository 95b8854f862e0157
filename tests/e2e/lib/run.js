// Keeps a run's temp directory (logs, persisted KV/R2, probed segments) only when it helps:
// after a failure, or when EDGEPACK_E2E_KEEP is set.
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
