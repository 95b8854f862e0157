// The built Worker running in workerd through Miniflare, listening on a loopback address
// (127.0.0.1 unless told otherwise) so that ffmpeg and Chromium reach it over real HTTP.
//
// How the client address reaches the Worker locally (measured with miniflare 4.20260426.0):
// workerd reports the peer as `request.cf.clientIp` ("127.0.0.1:port" or "[::1]:port") to
// Miniflare's entry worker, which copies the address into `CF-Connecting-IP`, but only when
// the client did not send that header itself. On Cloudflare the edge always overwrites it.
// So an origin on `::1` is reached over IPv6, for real, by the access-control checks.
import { existsSync, readFileSync, readdirSync, createWriteStream, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { ADMIN_TOKEN, apiClient } from './api.js';
import { REPO_DIR, WORKER_BUILD_DIR, tempDir } from './paths.js';

/** Used when wrangler.toml has no compatibility_date; must not exceed Miniflare's workerd. */
const FALLBACK_COMPATIBILITY_DATE = '2026-04-01';

function compatibilityDate() {
  const toml = join(REPO_DIR, 'wrangler.toml');
  if (!existsSync(toml)) return FALLBACK_COMPATIBILITY_DATE;
  const m = /^\s*compatibility_date\s*=\s*"([0-9-]+)"/m.exec(readFileSync(toml, 'utf8'));
  return m ? m[1] : FALLBACK_COMPATIBILITY_DATE;
}

function findWasm(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith('.wasm')) return path;
    if (entry.isDirectory()) {
      const found = findWasm(path);
      if (found) return found;
    }
  }
  return null;
}

function checkBuild(buildDir, shim) {
  const missing = !existsSync(shim)
    ? shim
    : findWasm(buildDir) === null
      ? `a .wasm file under ${buildDir}`
      : null;
  if (missing) {
    throw new Error(
      `Worker build output missing (${missing}). Run \`make worker\` in ${REPO_DIR} first.`,
    );
  }
}

/**
 * Starts the Worker on `host` (a loopback address: '127.0.0.1', or '::1'). Returns { url, api,
 * kv, bucket, r2Keys, kvKeys, logFile, dir, dispose, mf, channelState }. `url` is the base URL (an IPv6 host
 * in brackets) without a trailing slash. `miniflare`: more Miniflare options (e.g.
 * `analyticsEngineDatasets`).
 */
export async function startOrigin({
  adminToken = ADMIN_TOKEN,
  bindings = {},
  dir,
  buildDir = WORKER_BUILD_DIR,
  host = '127.0.0.1',
  miniflare = {},
} = {}) {
  const shim = join(buildDir, 'worker', 'shim.mjs');
  checkBuild(buildDir, shim);
  // Where the Worker keeps channel state (docs/storage.md): the suite's binding, else
  // EDGEPACK_CHANNEL_STATE (read now: a suite may set it before it starts), else wrangler.toml's
  // default.
  const channelState = bindings.CHANNEL_STATE ?? process.env.EDGEPACK_CHANNEL_STATE ?? 'durable-object';
  dir ??= await tempDir('origin');
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'workerd.log');
  const log = createWriteStream(logFile);
  const mf = new Miniflare({
    modules: true,
    scriptPath: shim,
    modulesRoot: buildDir,
    modulesRules: [
      // worker-build emits ES modules with a .js extension (Miniflare's default is CommonJS).
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: compatibilityDate(),
    kvNamespaces: ['EDGEPACK_KV'],
    r2Buckets: ['EDGEPACK_BUCKET'],
    // Channel state in a Durable Object per channel (docs/storage.md), wrangler.toml's default;
    // in R2 when the suite runs with EDGEPACK_CHANNEL_STATE=r2.
    durableObjects: { EDGEPACK_CHANNELS: { className: 'EdgepackChannel', useSQLite: true } },
    durableObjectsPersist: join(dir, 'do'),
    bindings: {
      ADMIN_TOKEN: adminToken,
      ...bindings,
      CHANNEL_STATE: channelState,
    },
    host,
    port: 0,
    kvPersist: join(dir, 'kv'),
    r2Persist: join(dir, 'r2'),
    // The default fetches Request.cf from the internet; tests get Miniflare's placeholder.
    cf: false,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout, stderr) {
      stdout.pipe(log, { end: false });
      stderr.pipe(log, { end: false });
    },
    ...miniflare,
  });
  let ready;
  try {
    ready = await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw new Error(`Miniflare failed to start the Worker on ${host} (log: ${logFile}): ${err.message}`, {
      cause: err,
    });
  }
  const url = ready.origin;
  const kv = await mf.getKVNamespace('EDGEPACK_KV');
  const bucket = await mf.getR2Bucket('EDGEPACK_BUCKET');

  /** Control API call with the admin bearer token (or `token` given; null: none). */
  const api = apiClient(url, adminToken);

  /** Every object key in R2 (optionally under a prefix). */
  async function r2Keys(prefix) {
    const keys = [];
    let cursor;
    do {
      const page = await bucket.list({ prefix, cursor });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return keys.sort();
  }

  /** Every key in KV (optionally under a prefix). */
  async function kvKeys(prefix) {
    const keys = [];
    let cursor;
    do {
      const page = await kv.list({ prefix, cursor });
      keys.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return keys.sort();
  }

  async function dispose() {
    await mf.dispose();
    log.end();
  }

  return { url, api, kv, bucket, r2Keys, kvKeys, logFile, dir, dispose, mf, channelState };
}

/**
 * The timelines a Worker run's persisted state holds, by scripts/timelines.py: with `first`,
 * one line per rendition (its first segments and every discontinuity). For a failure message.
 */
export function timelinesOf(dir, { renditions = [], first } = {}) {
  const args = [join(REPO_DIR, 'scripts', 'timelines.py'), ...(first ? ['--first', String(first)] : []), dir, ...renditions];
  const run = spawnSync('python3', args, { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : `(scripts/timelines.py failed: ${run.error?.message ?? run.stderr})`;
}
