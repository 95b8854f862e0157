// The Spin build (functions/spin/build/edgepack_spin.wasm, named by spin.toml) running in the
// repository's wasmtime host (functions/spin-host), listening on 127.0.0.1 so that ffmpeg and
// Chromium reach it over real HTTP. The Spin counterpart of origin.js.
import { spawn, execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, apiClient } from './api.js';
import { REPO_DIR, tempDir } from './paths.js';
export const SPIN_MANIFEST = join(REPO_DIR, 'spin.toml');
/** Output of `make spin`; EDGEPACK_SPIN_HOST_BIN points elsewhere. */
export const SPIN_HOST_BIN =
  process.env.EDGEPACK_SPIN_HOST_BIN || join(REPO_DIR, 'functions', 'spin-host', 'build', 'edgepack-spin-host');
export const SPIN_WASM = join(REPO_DIR, 'functions', 'spin', 'build', 'edgepack_spin.wasm');
/** Compiling the component on 2 busy cores takes a few seconds. */
const START_TIMEOUT_MS = 60_000;
const READY = /serving (http:\/\/127\.0\.0\.1:\d+)/;
const FIRST_RESPONSE = /first response (\d+) ms after start/;

const run = promisify(execFile);

function checkBuild() {
  for (const file of [SPIN_HOST_BIN, SPIN_WASM]) {
    if (!existsSync(file)) {
      throw new Error(`Spin build output missing (${file}). Run \`make spin\` in ${REPO_DIR} first.`);
    }
  }
}

/**
 * Starts the host. Returns { url, port, api, kvKeys, logFile, dir, stateDir, startup, dispose }.
 * `stateDir` holds the SQLite key-value file: start again with the same one to restart. `port`
 * 0 picks a free one. `startup` = { readyMs, firstResponseMs } as the host printed them
 * (firstResponseMs once the first request was answered). `manifest`: another spin.toml (e.g.
 * one allowing outbound HTTP to a test server; its component `source` should be absolute).
 */
export async function startSpinOrigin({
  adminToken = ADMIN_TOKEN, dir, stateDir, port = 0, env = {}, manifest = SPIN_MANIFEST,
} = {}) {
  checkBuild();
  dir ??= await tempDir('spin');
  mkdirSync(dir, { recursive: true });
  stateDir ??= join(dir, 'state');
  const logFile = join(dir, `spin-host-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const t0 = Date.now();
  const child = spawn(
    SPIN_HOST_BIN,
    ['--listen', `127.0.0.1:${port}`, '--state-dir', stateDir, manifest],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPIN_VARIABLE_ADMIN_TOKEN: adminToken, ...env },
    },
  );
  const startup = { spawnToReadyMs: null, readyMs: null, firstResponseMs: null };
  let stdout = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Spin host not ready after ${START_TIMEOUT_MS} ms (log: ${logFile})`)), START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      log.write(chunk);
      stdout += chunk;
      const m = READY.exec(stdout);
      if (m && startup.readyMs === null) {
        startup.spawnToReadyMs = Date.now() - t0;
        startup.readyMs = Number(/ready (\d+) ms/.exec(stdout)?.[1] ?? NaN);
        clearTimeout(timer);
        resolve(m[1]);
      }
      const f = FIRST_RESPONSE.exec(stdout);
      if (f) startup.firstResponseMs = Number(f[1]);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`Spin host exited (${code ?? signal}) before it was ready (log: ${logFile})`));
    });
    child.once('error', reject);
  });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let url;
  try {
    url = await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  const api = apiClient(url, adminToken);

  /** Every key in the Spin key-value store `default` (optionally under a prefix). */
  async function kvKeys(prefix = '') {
    const { stdout: out } = await run(SPIN_HOST_BIN, ['--list-keys', '--state-dir', stateDir, manifest], {
      env: { ...process.env, SPIN_VARIABLE_ADMIN_TOKEN: adminToken },
      maxBuffer: 64 << 20,
    });
    return out.split('\n').filter((k) => k !== '' && k.startsWith(prefix)).sort();
  }

  /** Stops the host (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  async function dispose() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  }

  return { url, port: Number(new URL(url).port), api, kvKeys, logFile, dir, stateDir, startup, pid: child.pid, dispose };
}
