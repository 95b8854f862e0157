// Ingest throughput (by hand, never in CI): how many PUTs per second one input takes, the way an
// encoder with many renditions pushes (each rendition: a segment, then its playlist), faster
// than real time, on the Worker in workerd or the Spin component in the local wasmtime host.
//
//   cd tests && node bench/ingest-rate.js [--platform worker|spin] [--renditions 8] [--seconds 30]
//
// ffmpeg makes the segments once (a small H.264 + AAC picture, 2 s segments); every rendition
// pushes them in order under its own directory, all renditions at once. Reported: PUTs per
// second over the run, latency p50/p99 of segment and playlist PUTs, and any answer that is not
// 2xx. AWS publishes 200 PUTs per second per input as MediaPackage's ingest quota.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadavg, cpus } from 'node:os';
import { startOrigin } from '../e2e/lib/origin.js';
import { startSpinOrigin } from '../e2e/lib/spin-host.js';
import { basicAuth } from '../e2e/lib/encoder.js';
import { tempDir } from '../e2e/lib/paths.js';

const run = promisify(execFile);
const SEGMENT_S = 2;
/** Segments in the sliding playlist, as ffmpeg's default live window. */
const WINDOW = 6;

function parseArgs(argv) {
  const opts = { platform: 'worker', renditions: 8, seconds: 30 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--platform') opts.platform = argv[++i];
    else if (argv[i] === '--renditions') opts.renditions = Number(argv[++i]);
    else if (argv[i] === '--seconds') opts.seconds = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!['worker', 'spin'].includes(opts.platform)) throw new Error('--platform: worker or spin');
  if (!(Number.isInteger(opts.renditions) && opts.renditions >= 1 && opts.renditions <= 32)) throw new Error('--renditions must be 1-32');
  if (!(opts.seconds >= 5 && opts.seconds <= 300)) throw new Error('--seconds must be 5-300');
  return opts;
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await tempDir('ingest-rate');
  // More segments than a run can push at 200 PUTs/s per rendition pair.
  const count = Math.ceil((opts.seconds * 200) / 2 / opts.renditions) + 10;
  const origin = opts.platform === 'spin' ? await startSpinOrigin({ dir: join(dir, 'origin') }) : await startOrigin({ dir: join(dir, 'origin') });
  let ok = false;
  try {
    await run('ffmpeg', [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(count * SEGMENT_S),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '20', '-c:a', 'aac', '-b:a', '32k',
      '-f', 'hls', '-hls_time', String(SEGMENT_S), '-hls_list_size', '0',
      '-hls_segment_filename', join(dir, 'seg%d.ts'), join(dir, 'index.m3u8'),
    ], { timeout: 300_000 });
    const segments = await Promise.all(Array.from({ length: count }, (_, n) => readFile(join(dir, `seg${n}.ts`))));
    await origin.api('POST', '/api/v1/groups', { name: 'rate' });
    const c = await origin.api('POST', '/api/v1/groups/rate/channels', { name: 'live', protocol: 'HLS' });
    if (c.status !== 201) throw new Error(`channel: ${c.status}`);
    const input = c.json.inputs[0];
    const auth = basicAuth(input.username, input.password);
    const latencies = { segment: [], playlist: [] };
    const bad = [];
    let puts = 0;
    const put = async (kind, url, body) => {
      const t0 = performance.now();
      const res = await fetch(url, { method: 'PUT', headers: { authorization: auth }, body });
      await res.arrayBuffer();
      latencies[kind].push(performance.now() - t0);
      puts++;
      if (res.status >= 300 && bad.length < 10) bad.push(`${kind} ${url}: ${res.status}`);
      if (res.status >= 300) bad.count = (bad.count ?? 0) + 1;
    };
    const t0 = Date.now();
    const until = t0 + opts.seconds * 1000;
    const load = [loadavg()[0]];
    await Promise.all(Array.from({ length: opts.renditions }, async (_, r) => {
      for (let n = 0; n < count && Date.now() < until; n++) {
        await put('segment', `${input.url}r${r}/seg${n}.ts`, segments[n]);
        const first = Math.max(0, n + 1 - WINDOW);
        let pl = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${SEGMENT_S}\n#EXT-X-MEDIA-SEQUENCE:${first}\n`;
        for (let s = first; s <= n; s++) pl += `#EXTINF:${SEGMENT_S}.000000,\nseg${s}.ts\n`;
        await put('playlist', `${input.url}r${r}/index.m3u8`, pl);
      }
    }));
    const elapsed = (Date.now() - t0) / 1000;
    load.push(loadavg()[0]);
    console.log(`edgepack ingest rate: ${opts.platform}, one input, ${opts.renditions} renditions pushing at once, ${new Date(t0).toISOString()}`);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; 1-min load ${load.map((l) => l.toFixed(1)).join(' -> ')}`);
    console.log(`${puts} PUTs in ${elapsed.toFixed(1)} s: ${(puts / elapsed).toFixed(0)} PUTs/s; not 2xx: ${bad.count ?? 0}`);
    for (const [kind, ms] of Object.entries(latencies)) {
      const sorted = [...ms].sort((a, b) => a - b);
      console.log(`${kind} PUT: p50 ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms (${ms.length})`);
    }
    for (const b of bad) console.log(`problem: ${b}`);
    ok = !bad.count;
    if (!ok) process.exitCode = 1;
  } finally {
    await origin.dispose();
    if (ok && !process.env.EDGEPACK_E2E_KEEP) await rm(dir, { recursive: true, force: true });
    else console.error(`state and logs kept in ${dir}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
