// Spin build figures: component size (raw and gzip), host cold start (spawn to ready, and to the
// first answered request), and the median latency of a rendition playlist and a segment request.
// Bounded: REQUESTS sequential GETs of each kind, to 127.0.0.1 only. Not a test.
//   cd tests && node e2e/spin/bench.mjs
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startSpinOrigin, SPIN_WASM } from '../lib/spin-host.js';
import { record, replay } from '../lib/spin-replay.js';
import { readMaster } from '../lib/endpoint.js';
import { tempDir } from '../lib/paths.js';

const REQUESTS = Number(process.env.REQUESTS ?? 200);
const RECORD_SECONDS = 12;

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, median_ms: +at(0.5).toFixed(2), p90_ms: +at(0.9).toFixed(2), max_ms: +s.at(-1).toFixed(2) };
}

async function time(url) {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url} -> ${res.status}`);
  return performance.now() - t0;
}

const wasm = readFileSync(SPIN_WASM);
const dir = await tempDir('spin-bench');
const recording = await record(join(dir, 'src'), RECORD_SECONDS);

// Cold start: a fresh process and an empty store; the first request is GET /healthz.
const t0 = performance.now();
const origin = await startSpinOrigin({ dir: join(dir, 'host') });
const ready = performance.now() - t0;
const firstMs = await time(`${origin.url}/healthz`);
const coldStart = { spawn_to_ready_ms: Math.round(ready), spawn_to_first_response_ms: Math.round(performance.now() - t0), first_request_ms: +firstMs.toFixed(1), host_reported: origin.startup };
try {
  await origin.api('POST', '/api/v1/groups', { name: 'bench' });
  const channel = await origin.api('POST', '/api/v1/groups/bench/channels', { name: 'live' });
  const endpoint = await origin.api('POST', '/api/v1/groups/bench/channels/live/endpoints', { name: 'hls' });
  await replay(recording, channel.json.inputs[0]);
  const { renditions } = await readMaster(endpoint.json.url);
  const playlistUrl = renditions[0].url;
  const playlist = await (await fetch(playlistUrl)).text();
  const segUrl = new URL(playlist.split('\n').filter((l) => l && !l.startsWith('#')).at(-1), playlistUrl).href;
  const segBytes = (await (await fetch(segUrl)).arrayBuffer()).byteLength;
  const result = { master: [], playlist: [], segment: [] };
  for (let i = 0; i < REQUESTS; i++) {
    result.master.push(await time(endpoint.json.url));
    result.playlist.push(await time(playlistUrl));
    result.segment.push(await time(segUrl));
  }
  console.log(JSON.stringify({
    component: { file: SPIN_WASM, bytes: wasm.length, gzip_bytes: gzipSync(wasm, { level: 9 }).length },
    cold_start: coldStart,
    latency: {
      master: stats(result.master),
      rendition_playlist: stats(result.playlist),
      segment: { bytes: segBytes, ...stats(result.segment) },
    },
    keys_in_store: (await origin.kvKeys()).length,
  }, null, 2));
} finally {
  await origin.dispose();
}
