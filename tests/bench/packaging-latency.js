// Wall time of packaging requests on local workerd (the built Worker in Miniflare, as the e2e
// tests run it): a remuxed CMAF video segment and an MPD, against references measured in the
// same run: the raw TS segment (HLS endpoint of the same channel, no remux) and /healthz.
// Run by hand, not part of `make test`:
//
//   cd tests && node bench/packaging-latency.js [--requests 50] [--no-hd] [--json out.json]
//
// Requests go to 127.0.0.1 only, one at a time, targets interleaved round-robin so a load spike
// from other work on the machine hits every target alike. A second pass sends each target's
// requests in a block and reads the workerd process's CPU time (/proc) before and after.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startOrigin } from '../e2e/lib/origin.js';
import { startEncoder, basicAuth, tail } from '../e2e/lib/encoder.js';
import { tempDir } from '../e2e/lib/paths.js';
import { waitFor } from '../e2e/lib/wait.js';
import { createChannel } from '../e2e/lib/packaging-channel.js';
import { readCmafMedia, endpointBase } from '../e2e/lib/packaging-hls.js';
import { readMpd, representations } from '../e2e/lib/packaging-mpd.js';

/** Default and upper bound of requests per target (the bound keeps a typo from hammering). */
const DEFAULT_REQUESTS = 50;
const MAX_REQUESTS = 500;
/** Unmeasured requests per target first (JIT, caches, first R2 reads). */
const WARMUP = 5;
/** Content pushed (seconds, encoded faster than real time). */
const PUSH_SECONDS = 12;
/** The 1080p push: 4 segments of 2 s at ~5 Mbit/s (x264 with temporal noise to fill the rate). */
const HD = { seconds: 8, size: '1920x1080', fps: 30, bitrate: '5M' };
const ENCODE_TIMEOUT_MS = 180_000;

function parseArgs(argv) {
  const opts = { requests: DEFAULT_REQUESTS, hd: true, json: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--requests') opts.requests = Number(argv[++i]);
    else if (argv[i] === '--no-hd') opts.hd = false;
    else if (argv[i] === '--json') opts.json = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(opts.requests) || opts.requests < 1 || opts.requests > MAX_REQUESTS) {
    throw new Error(`--requests must be 1-${MAX_REQUESTS}`);
  }
  return opts;
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { n: s.length, median, p10: quantile(s, 0.1), p90: quantile(s, 0.9), min: s[0], max: s.at(-1) };
}

/** One GET, body read completely; throws unless 200. Returns { ms, bytes }. */
async function timedGet(url) {
  if (!url.startsWith('http://127.0.0.1:')) throw new Error(`refusing non-loopback URL ${url}`);
  const t0 = performance.now();
  const res = await fetch(url);
  const body = await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`GET ${url} -> ${res.status} ${Buffer.from(body).toString().slice(0, 200)}`);
  return { ms, bytes: body.byteLength };
}

/** PIDs of workerd processes started by this process (Miniflare's runtime). */
function workerdPids() {
  const pids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'workerd' && ppid === process.pid) pids.push(Number(d));
    } catch {
      // process went away
    }
  }
  return pids;
}

/** utime + stime of `pids` in milliseconds (all threads). */
function cpuMs(pids) {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
  }
  return (total * 1000) / tick;
}

/** The 1080p push to `input` as rendition `hd/`: ffmpeg killed by PID if it overruns. */
async function pushHd(input, logFile) {
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info',
    '-f', 'lavfi', '-i', `testsrc2=size=${HD.size}:rate=${HD.fps}`,
    '-vf', 'noise=alls=10:allf=t', '-t', String(HD.seconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
    '-b:v', HD.bitrate, '-maxrate', HD.bitrate, '-bufsize', '10M',
    '-g', String(2 * HD.fps), '-keyint_min', String(2 * HD.fps), '-sc_threshold', '0', '-an',
    '-f', 'hls', '-hls_time', '2', '-hls_list_size', '6', '-method', 'PUT',
    '-headers', `Authorization: ${basicAuth(input.username, input.password)}\r\n`,
    '-hls_segment_filename', `${input.url}hd/seg_%05d.ts`, `${input.url}hd/index.m3u8`,
  ];
  const log = createWriteStream(logFile);
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.pipe(log);
  const timer = setTimeout(() => child.kill('SIGKILL'), ENCODE_TIMEOUT_MS);
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve(c ?? s));
  });
  clearTimeout(timer);
  if (code !== 0) throw new Error(`1080p ffmpeg exited ${code} (log ${logFile})`);
}

/** Output segment number `n`'s URLs: raw TS and remuxed CMAF video, plus the CMAF init. */
async function segmentTargets(bases, rendition, label) {
  const { playlist } = await readCmafMedia(`${bases.cmaf}${rendition}/video.m3u8`);
  // A middle segment: complete, and not the encoder's short last one.
  const seg = playlist.segments[Math.floor(playlist.segments.length / 2)];
  return [
    { name: `${label} raw TS segment ${seg.number} (no remux)`, url: `${bases.ts}${rendition}/${seg.number}.ts` },
    { name: `${label} CMAF video segment ${seg.number} (remux)`, url: seg.url },
    { name: `${label} CMAF video init (remux of one segment)`, url: seg.map },
  ];
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await tempDir('bench-packaging');
  const origin = await startOrigin({ dir: join(dir, 'origin') });
  let encoder;
  let ok = false;
  try {
    const made = await createChannel(origin, {
      group: 'bench',
      channel: 'live',
      endpoints: [
        { name: 'ts', protocol: 'HLS' },
        { name: 'cmaf', protocol: 'HLS_CMAF' },
        { name: 'dash', protocol: 'DASH' },
      ],
    });
    const bases = Object.fromEntries(Object.entries(made.endpoints).map(([k, e]) => [k, endpointBase(e.url)]));
    const auth = { username: made.input.username, password: made.input.password };
    encoder = startEncoder({ base: made.input.url, seconds: PUSH_SECONDS, realtime: false, auth, logFile: join(dir, 'ffmpeg.log') });
    await encoder.done;
    if (opts.hd) await pushHd(made.input, join(dir, 'ffmpeg-hd.log'));
    await waitFor('content on the CMAF and DASH endpoints', async () => {
      const mpd = await fetch(made.endpoints.dash.url);
      if (mpd.status !== 200) return false;
      return representations(readMpd(await mpd.text())).length >= 3;
    }, { timeoutMs: 30_000 }).catch((err) => {
      throw new Error(`${err.message}\n${tail(encoder.log(), 10)}`);
    });

    const targets = [
      { name: '/healthz', url: `${origin.url}/healthz`, ref: 'healthz' },
      ...(await segmentTargets(bases, 'stream_0/index', '640x360 800k')),
      { name: 'DASH MPD (3 representations)', url: made.endpoints.dash.url, ref: 'mpd' },
      { name: 'HLS-CMAF video playlist', url: `${bases.cmaf}stream_0/index/video.m3u8` },
    ];
    if (opts.hd) targets.push(...(await segmentTargets(bases, 'hd/index', '1080p 5M')));

    const loadBefore = loadavg()[0];
    for (const t of targets) {
      for (let i = 0; i < WARMUP; i++) t.bytes = (await timedGet(t.url)).bytes;
      t.ms = [];
    }
    // Pass 1: wall time, interleaved.
    for (let i = 0; i < opts.requests; i++) {
      for (const t of targets) t.ms.push((await timedGet(t.url)).ms);
    }
    // Pass 2: workerd CPU per request, one block per target.
    const pids = workerdPids();
    for (const t of targets) {
      const c0 = cpuMs(pids);
      const w0 = performance.now();
      for (let i = 0; i < opts.requests; i++) await timedGet(t.url);
      t.cpuPerRequest = pids.length ? (cpuMs(pids) - c0) / opts.requests : NaN;
      t.blockMedian = (performance.now() - w0) / opts.requests;
    }

    const rows = targets.map((t) => ({ name: t.name, bytes: t.bytes, ...stats(t.ms), cpu: t.cpuPerRequest }));
    const byRef = Object.fromEntries(targets.map((t, i) => [t.ref, rows[i]]).filter(([ref]) => ref));
    console.log(`edgepack packaging latency on local workerd (Miniflare), ${opts.requests} requests per target after ${WARMUP} warm-up, 127.0.0.1`);
    console.log(`worker build: ${process.env.EDGEPACK_WORKER_BUILD_DIR || 'functions/cloudflare/build'}; workerd PIDs ${pids.join(',') || 'not found'}; ${new Date().toISOString()}`);
    console.log(`1-min load average (2 cores shared with other work): ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`);
    console.log('');
    console.log('target'.padEnd(52) + 'bytes'.padStart(9) + 'median'.padStart(9) + 'p10'.padStart(8) + 'p90'.padStart(8) + 'min'.padStart(8) + 'CPU/req'.padStart(9));
    for (const r of rows) {
      console.log(
        r.name.padEnd(52) + String(r.bytes).padStart(9) + r.median.toFixed(2).padStart(9) + r.p10.toFixed(2).padStart(8)
        + r.p90.toFixed(2).padStart(8) + r.min.toFixed(2).padStart(8) + (Number.isNaN(r.cpu) ? 'n/a' : r.cpu.toFixed(2)).padStart(9),
      );
    }
    console.log('(ms; CPU/req = utime+stime of the workerd process over a block of requests / requests, 10 ms resolution summed over the block)');
    console.log('');
    const ratio = (a, b) => `${(a.median / b.median).toFixed(2)}x (${a.median.toFixed(2)} / ${b.median.toFixed(2)} ms, +${(a.median - b.median).toFixed(2)} ms)`;
    const segRows = rows.filter((r) => /CMAF video segment/.test(r.name));
    const tsRows = rows.filter((r) => /raw TS segment/.test(r.name));
    segRows.forEach((s, i) => {
      console.log(`${s.name}: vs raw TS ${ratio(s, tsRows[i])}; vs /healthz ${ratio(s, byRef.healthz)}`);
    });
    console.log(`DASH MPD: vs /healthz ${ratio(byRef.mpd, byRef.healthz)}; vs raw TS ${ratio(byRef.mpd, tsRows[0])}`);
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ requests: opts.requests, rows }, null, 1));
    ok = true;
  } finally {
    encoder?.stop('SIGKILL');
    await origin.dispose();
    if (ok && !process.env.EDGEPACK_E2E_KEEP) await rm(dir, { recursive: true, force: true });
    else console.error(`state and logs kept in ${dir}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
