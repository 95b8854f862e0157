// The built Worker in workerd (Miniflare) listening on a loopback address of our choice, so a
// client reaches it over IPv6 (`::1`) as well as IPv4. lib/origin.js always listens on
// 127.0.0.1; this is the same setup with `host` open, for the IPv6 access-control checks.
//
// How the client address reaches the Worker locally (measured with miniflare 4.20260426.0):
// workerd reports the peer as `request.cf.clientIp` ("127.0.0.1:port" or "[::1]:port") to
// Miniflare's entry worker, which copies the address into `CF-Connecting-IP`, but only when
// the client did not send that header itself. On Cloudflare the edge always overwrites it.
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare, Log, LogLevel } from 'miniflare';
import { ADMIN_TOKEN } from './origin.js';
import { REPO_DIR, WORKER_BUILD_DIR, tempDir } from './paths.js';

function compatibilityDate() {
  const m = /^\s*compatibility_date\s*=\s*"([0-9-]+)"/m.exec(
    readFileSync(join(REPO_DIR, 'wrangler.toml'), 'utf8'),
  );
  if (!m) throw new Error('wrangler.toml has no compatibility_date');
  return m[1];
}

/**
 * Starts the Worker on `host` (e.g. '::1'). Returns { url, api, logFile, dir, dispose } where
 * `url` is the base URL (IPv6 hosts in brackets) without a trailing slash.
 */
export async function startOriginOn({ host, dir, buildDir = WORKER_BUILD_DIR, adminToken = ADMIN_TOKEN }) {
  const shim = join(buildDir, 'worker', 'shim.mjs');
  if (!existsSync(shim)) throw new Error(`Worker build output missing (${shim}). Run \`make worker\` first.`);
  dir ??= await tempDir(`origin-${host.replace(/[^0-9a-z]/gi, '_')}`);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'workerd.log');
  const log = createWriteStream(logFile);
  const mf = new Miniflare({
    modules: true,
    scriptPath: shim,
    modulesRoot: buildDir,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: compatibilityDate(),
    kvNamespaces: ['EDGEPACK_KV'],
    r2Buckets: ['EDGEPACK_BUCKET'],
    bindings: { ADMIN_TOKEN: adminToken },
    host,
    port: 0,
    kvPersist: join(dir, 'kv'),
    r2Persist: join(dir, 'r2'),
    cf: false,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout, stderr) {
      stdout.pipe(log, { end: false });
      stderr.pipe(log, { end: false });
    },
  });
  let ready;
  try {
    ready = await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    throw new Error(`Miniflare failed to start on ${host} (log: ${logFile}): ${err.message}`, { cause: err });
  }
  const url = ready.origin;

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${adminToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, text, json, request: `${method} ${path}` };
  }

  async function dispose() {
    await mf.dispose();
    log.end();
  }

  return { url, api, logFile, dir, dispose };
}
