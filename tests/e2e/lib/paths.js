// Locations shared by the end-to-end helpers.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';

export const E2E_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const TESTS_DIR = dirname(E2E_DIR);
export const REPO_DIR = dirname(TESTS_DIR);
export const NODE_MODULES = join(TESTS_DIR, 'node_modules');

/** Output of `make worker` (worker-build): build/index.js + build/index_bg.wasm + this shim. */
export const WORKER_BUILD_DIR =
  process.env.EDGEPACK_WORKER_BUILD_DIR || join(REPO_DIR, 'functions', 'cloudflare', 'build');
export const WORKER_SHIM = join(WORKER_BUILD_DIR, 'worker', 'shim.mjs');

/** A fresh temporary directory for one run's state and logs. */
export function tempDir(prefix) {
  return mkdtemp(join(tmpdir(), `edgepack-e2e-${prefix}-`));
}
