// Soak and load (`make soak`, never in CI): two live encoders on one channel (aligned pushes of
// one recorded source to both inputs) and simulated players for a bounded time on the Worker in
// workerd (or the Spin component in the local wasmtime host), everything on 127.0.0.1:
//
//   cd tests && node bench/soak.js [--platform worker|spin] [--minutes 10] [--players 200]
//     [--json out.json] [--heaps] [--shifted-every 10]
//
// `--heaps` (Worker only) also samples each workerd isolate's JavaScript heap over workerd's
// inspector: the Worker's own against Miniflare's simulators. Off by default: with the
// inspector attached, a loaded run collapsed (seconds per request), so its figures are not
// comparable with a run without it.
//
// A simulated player behaves like a real one without decoding: it reads the master (or the MPD),
// picks a rendition, then reloads its playlist once per target duration (the MPD once per
// `minimumUpdatePeriod`) and fetches every segment that appears, the init segment once. Players
// are spread over HLS (TS), HLS-CMAF and DASH endpoints; one in ten (`--shifted-every`) is time-shifted (`start`
// two minutes before it began). Players start over the first minute.
//
// Reported: requests and latency p50/p99 per request kind, status classes, 5xx answers,
// segments listed but not servable (a listed URL answering other than 200), and the runtime's
// resident memory (workerd or the Spin host) at start and end. The run fails (exit 1) on any
// 5xx or unservable segment.
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { startOrigin } from '../e2e/lib/origin.js';
import { startSpinOrigin } from '../e2e/lib/spin-host.js';
import { recordSource, sourceMaster, putMaster, startPush, SEGMENT_SECONDS } from '../e2e/lib/failover-encoder.js';
import { parseMaster, parseMedia } from '../e2e/lib/m3u8.js';
import { readMpd, representations, segmentUrl, parseDuration } from '../e2e/lib/packaging-mpd.js';
import { tempDir } from '../e2e/lib/paths.js';
import { waitFor } from '../e2e/lib/wait.js';

const ENDPOINTS = [
  { name: 'hls', protocol: 'HLS', share: 0.4 },
  { name: 'cmaf', protocol: 'HLS_CMAF', share: 0.3 },
  { name: 'dash', protocol: 'DASH', share: 0.3 },
];
/** One player in this many is time-shifted (`--shifted-every`; 0: none). */
const TIME_SHIFTED_EVERY = 10;
/** How far back a time-shifted player starts, ms. */
const TIME_SHIFT_BACK_MS = 120_000;
/** Players start spread over this long, ms. */
const RAMP_MS = 60_000;
/** Source content beyond the run (set-up, ramp), seconds. */
const SOURCE_SPARE_S = 120;
/** Causes of a failed fetch that mean the connection was closed under the request. */
const CONNECTION_CLOSED = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);
/** A request that takes longer than this counts as failed (a player would have retried). */
const REQUEST_TIMEOUT_MS = 15_000;

function parseArgs(argv) {
  const opts = { platform: 'worker', minutes: 10, players: 200, json: null, heaps: false, shiftedEvery: TIME_SHIFTED_EVERY };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--platform') opts.platform = argv[++i];
    else if (argv[i] === '--minutes') opts.minutes = Number(argv[++i]);
    else if (argv[i] === '--players') opts.players = Number(argv[++i]);
    else if (argv[i] === '--json') opts.json = argv[++i];
    else if (argv[i] === '--heaps') opts.heaps = true;
    else if (argv[i] === '--shifted-every') opts.shiftedEvery = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!['worker', 'spin'].includes(opts.platform)) throw new Error('--platform: worker or spin');
  if (!(opts.minutes > 0 && opts.minutes <= 60)) throw new Error('--minutes must be in (0, 60]');
  if (!(Number.isInteger(opts.shiftedEvery) && opts.shiftedEvery >= 0)) throw new Error('--shifted-every must be 0 (none) or more');
  if (!(Number.isInteger(opts.players) && opts.players >= 1 && opts.players <= 1000)) throw new Error('--players must be 1-1000');
  return opts;
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resident memory of a process and its descendants, KiB (/proc). */
function rssKiB(pid) {
  let total = 0;
  const visit = (p) => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      return;
    }
    let kids = '';
    try {
      kids = execFileSync('pgrep', ['-P', String(p)], { encoding: 'utf8' });
    } catch {
      // no children
    }
    for (const k of kids.split('\n').filter(Boolean)) visit(Number(k));
  };
  visit(pid);
  return total;
}

/** The runtime's process: the Spin host's own pid, or the workerd Miniflare started. */
function runtimePid(origin) {
  if (origin.pid) return origin.pid;
  const kids = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const workerd = kids.find((k) => readFileSync(`/proc/${k}/comm`, 'utf8').trim().startsWith('workerd'));
  if (!workerd) throw new Error('no workerd child process found');
  return Number(workerd);
}

/** A TCP port free on 127.0.0.1 now (for workerd's inspector). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The JavaScript heap of each isolate in workerd, MiB used (V8's `Runtime.getHeapUsage` over the
 * inspector): `worker` is the Worker's own isolate ("core:user:"), `simulators` the sum of
 * Miniflare's (the local R2, KV and cache simulators and its entry worker). `null` when the
 * inspector does not answer.
 */
async function isolateHeaps(port) {
  let targets;
  try {
    targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  } catch {
    return null;
  }
  const heaps = { worker: 0, simulators: 0 };
  for (const t of targets) {
    const used = await new Promise((resolve) => {
      const ws = new WebSocket(t.webSocketDebuggerUrl);
      const done = (v) => {
        ws.terminate();
        resolve(v);
      };
      const timer = setTimeout(() => done(null), 5_000);
      ws.once('error', () => done(null));
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'Runtime.getHeapUsage' })));
      ws.once('message', (d) => {
        clearTimeout(timer);
        done(JSON.parse(d)?.result?.usedSize ?? null);
      });
    });
    if (used === null) return null;
    if (t.id.startsWith('core:user:')) heaps.worker += used / 1048576;
    else heaps.simulators += used / 1048576;
  }
  return heaps;
}

/** Counters shared by every player. */
function recorder() {
  const kinds = new Map();
  const status = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, failed: 0, resent: 0 };
  const problems = [];
  let unservable = 0;
  let bytes = 0;
  // Requests sent and not yet answered: now, and the most since the last sample.
  let outstanding = 0;
  let mostOutstanding = 0;
  async function get(kind, url, opts = {}) {
    outstanding++;
    mostOutstanding = Math.max(mostOutstanding, outstanding);
    try {
      return await send(kind, url, opts);
    } finally {
      outstanding--;
    }
  }
  /** The most requests outstanding at once since the last call. */
  function takeMostOutstanding() {
    const most = mostOutstanding;
    mostOutstanding = outstanding;
    return most;
  }
  async function send(kind, url, { listed = false } = {}) {
    const t0 = performance.now();
    let res;
    let body;
    for (let attempt = 0; ; attempt++) {
      res = undefined;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        body = Buffer.from(await res.arrayBuffer());
        break;
      } catch (err) {
        const cause = err.cause?.code ?? err.cause?.message ?? '';
        // A kept-alive connection the server closed before any answer: a browser sends the
        // request again on a new connection (so does this player, once), and it is counted.
        // Closed after the headers, it is a failure.
        if (attempt === 0 && res === undefined && CONNECTION_CLOSED.has(cause)) {
          status.resent++;
          if (problems.length < 20) problems.push(`${kind} ${url}: ${cause} after ${Math.round(performance.now() - t0)} ms, sent again`);
          continue;
        }
        status.failed++;
        if (listed) unservable++;
        if (problems.length < 20) problems.push(`${kind} ${url}: ${err.message}${cause ? ` (${cause})` : ''} after ${Math.round(performance.now() - t0)} ms`);
        return null;
      }
    }
    const ms = performance.now() - t0;
    if (!kinds.has(kind)) kinds.set(kind, []);
    kinds.get(kind).push(ms);
    status[`${Math.floor(res.status / 100)}xx`] = (status[`${Math.floor(res.status / 100)}xx`] ?? 0) + 1;
    bytes += body.length;
    if (res.status !== 200) {
      if (listed) unservable++;
      if ((res.status >= 500 || listed) && problems.length < 20) problems.push(`${kind} ${url}: ${res.status} ${body.toString('utf8', 0, 200)}`);
      return null;
    }
    return body;
  }
  function report() {
    const rows = [...kinds.entries()].map(([kind, ms]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      return { kind, requests: ms.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) };
    });
    return { rows, status, unservable, bytes, problems };
  }
  return { get, report, takeMostOutstanding };
}

/** An HLS player: master, one variant's playlist once per target duration, each new segment. */
async function hlsPlayer(rec, masterUrl, until, rand) {
  const master = await rec.get('master', masterUrl);
  if (!master) return;
  const { variants } = parseMaster(master.toString('utf8'));
  if (!variants.length) return;
  const playlistUrl = new URL(variants[Math.floor(rand() * variants.length)].uri, masterUrl).href;
  let last = -1;
  let init = null;
  while (Date.now() < until) {
    const body = await rec.get('playlist', playlistUrl);
    let target = SEGMENT_SECONDS;
    if (body) {
      const text = body.toString('utf8');
      const pl = parseMedia(text);
      target = pl.targetDuration ?? target;
      const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
      if (map && map !== init) {
        init = map;
        await rec.get('init', new URL(map, playlistUrl).href, { listed: true });
      }
      // A new player starts near the live edge: the last three segments.
      const fresh = pl.segments.filter((s) => !s.gap && s.sequence > last).slice(last < 0 ? -3 : 0);
      for (const s of fresh) {
        await rec.get('segment', new URL(s.uri, playlistUrl).href, { listed: true });
        last = s.sequence;
      }
      if (pl.endList) return;
    }
    await sleep(target * 1000);
  }
}

/** A DASH player: the MPD once per minimumUpdatePeriod, one video representation's new segments. */
async function dashPlayer(rec, mpdUrl, until, rand) {
  let repId = null;
  let lastT = -1;
  let init = null;
  while (Date.now() < until) {
    const body = await rec.get('mpd', mpdUrl);
    let wait = SEGMENT_SECONDS;
    if (body) {
      const mpd = readMpd(body.toString('utf8'));
      wait = mpd.attrs.minimumUpdatePeriod ? Math.max(1, parseDuration(mpd.attrs.minimumUpdatePeriod)) : wait;
      const video = representations(mpd).filter(([, , set]) => set.contentType === 'video' || /video/.test(set.mimeType ?? ''));
      if (!video.length) return;
      repId ??= video[Math.floor(rand() * video.length)][1].id;
      const mine = video.filter(([, r]) => r.id === repId);
      for (const [, rep] of mine) {
        if (rep.initialization && rep.initialization !== init) {
          init = rep.initialization;
          await rec.get('init', segmentUrl(mpdUrl, rep.initialization.replace(/\$RepresentationID\$/g, rep.id)), { listed: true });
        }
        let segments = rep.segments.map((s, i) => ({ ...s, number: rep.startNumber + i })).filter((s) => s.t > lastT);
        if (lastT < 0) segments = segments.slice(-3);
        for (const s of segments) {
          const template = rep.media.replace(/\$RepresentationID\$/g, rep.id);
          await rec.get('segment', segmentUrl(mpdUrl, template, { time: s.t, number: s.number }), { listed: true });
          lastT = s.t;
        }
      }
      if (mpd.attrs.type === 'static') return;
    }
    await sleep(wait * 1000);
  }
}

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await tempDir('soak');
  const runS = opts.minutes * 60;
  const sourceSeconds = Math.ceil(runS + RAMP_MS / 1000 + SOURCE_SPARE_S);
  const inspectorPort = opts.platform === 'worker' && opts.heaps ? await freePort() : null;
  const [origin, source] = await Promise.all([
    opts.platform === 'spin'
      ? startSpinOrigin({ dir: join(dir, 'origin') })
      : // The data center's cache on disk, as KV and R2 are: Miniflare keeps it in workerd's
        // memory otherwise, and the runtime's memory would count every cached segment.
        startOrigin({
          dir: join(dir, 'origin'),
          // Miniflare refuses an `inspectorPort` of null: only with --heaps.
          miniflare: { cachePersist: join(dir, 'origin', 'cache'), ...(inspectorPort === null ? {} : { inspectorPort }) },
        }),
    recordSource(join(dir, 'source.ts'), sourceSeconds, { preset: 'ultrafast' }),
  ]);
  const encoders = [];
  let ok = false;
  try {
    const master = await sourceMaster(source.file, sourceSeconds);
    const api = async (method, path, body) => {
      const r = await origin.api(method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    await api('POST', '/api/v1/groups', { name: 'soak' });
    const channel = await api('POST', '/api/v1/groups/soak/channels', { name: 'live', protocol: 'HLS' });
    const urls = {};
    for (const e of ENDPOINTS) {
      const made = await api('POST', '/api/v1/groups/soak/channels/live/endpoints', { name: e.name, protocol: e.protocol, time_shift_days: 1 });
      urls[e.name] = made.url;
    }
    for (const [i, input] of channel.inputs.entries()) {
      const e = startPush({
        source: source.file,
        base: input.url,
        auth: { username: input.username, password: input.password },
        startNumber: 0,
        maxSeconds: sourceSeconds,
        logFile: join(dir, `ffmpeg-input${i + 1}.log`),
      });
      encoders.push(e);
      await putMaster(input.url, { username: input.username, password: input.password }, master);
    }
    await waitFor('segments on every endpoint', async () => {
      const r = await fetch(urls.dash);
      return r.status === 200 && (await fetch(urls.hls)).status === 200;
    }, { timeoutMs: 60_000 });
    const pid = runtimePid(origin);
    const memStart = rssKiB(pid);
    const load = [loadavg()[0]];
    const rec = recorder();
    const t0 = Date.now();
    const until = t0 + runS * 1000;
    const rand = prng(Number(process.env.EDGEPACK_SOAK_SEED ?? 1));
    const players = [];
    const mix = { hls: 0, cmaf: 0, dash: 0, shifted: 0 };
    for (let i = 0; i < opts.players; i++) {
      let x = rand();
      const e = ENDPOINTS.find((p) => (x -= p.share) < 0) ?? ENDPOINTS[0];
      const every = opts.shiftedEvery;
      const shifted = every > 0 && i % every === every - 1;
      mix[e.name]++;
      if (shifted) mix.shifted++;
      const startAt = t0 + Math.floor((i / opts.players) * RAMP_MS);
      players.push((async () => {
        await sleep(startAt - Date.now());
        let url = urls[e.name];
        if (shifted) url += `?start=${new Date(Date.now() - TIME_SHIFT_BACK_MS).toISOString().replace(/\.\d+Z$/, 'Z')}`;
        const r = prng(i + 7);
        if (e.protocol === 'DASH') await dashPlayer(rec, url, until, r);
        else await hlsPlayer(rec, url, until, r);
      })());
    }
    const memSamples = [];
    // The WebAssembly memory of the instance that answers (`GET /api/v1/runtime`): on the Worker
    // one isolate serves every request, so its linear memory is the Worker's own footprint; on
    // Spin each request has a fresh instance.
    // With it, the bytes its allocator holds now (`heap.live_bytes`): rising, a leak; flat under a
    // growing memory, a high-water mark or fragmentation.
    const runtime = async () => {
      const r = await origin.api('GET', '/api/v1/runtime').catch(() => null);
      const b = r?.json?.wasm_memory_bytes;
      const { live_bytes: live, peak_bytes: peak } = r?.json?.heap ?? {};
      return {
        wasmMiB: typeof b === 'number' ? b / 1048576 : null,
        liveMiB: typeof live === 'number' ? live / 1048576 : null,
        peakMiB: typeof peak === 'number' ? peak / 1048576 : null,
      };
    };
    // Where workerd's memory goes: the Worker's isolate or Miniflare's simulators.
    const heaps = async () => (inspectorPort === null ? null : isolateHeaps(inspectorPort));
    const { wasmMiB: wasmStart, liveMiB: liveStart } = await runtime();
    const heapStart = await heaps();
    const sampler = setInterval(async () => {
      const sample = { s: Math.round((Date.now() - t0) / 1000), kib: rssKiB(pid) };
      memSamples.push(sample);
      load.push(loadavg()[0]);
      sample.outstanding = rec.takeMostOutstanding();
      Object.assign(sample, await runtime());
      sample.heap = await heaps();
    }, 30_000);
    await Promise.all(players);
    clearInterval(sampler);
    const memEnd = rssKiB(pid);
    const { wasmMiB: wasmEnd, liveMiB: liveEnd, peakMiB: peakEnd } = await runtime();
    const heapEnd = await heaps();
    const { rows, status, unservable, bytes, problems } = rec.report();

    console.log(`edgepack soak: ${opts.platform}, ${opts.minutes} min, ${opts.players} players (HLS ${mix.hls}, HLS-CMAF ${mix.cmaf}, DASH ${mix.dash}; ${mix.shifted} time-shifted), two aligned encoders, ${new Date(t0).toISOString()}`);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; 1-min load ${load.map((l) => l.toFixed(1)).join(' -> ')}`);
    console.log('');
    console.log('| request | count | p50 ms | p99 ms | max ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.kind} | ${r.requests} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`);
    console.log('');
    console.log(`status classes: ${JSON.stringify(status)}; bytes served ${(bytes / 1e6).toFixed(1)} MB`);
    console.log(`5xx answers: ${status['5xx']}; segments listed but not servable: ${unservable}`);
    console.log(`runtime resident memory (pid ${pid}): start ${(memStart / 1024).toFixed(1)} MiB, end ${(memEnd / 1024).toFixed(1)} MiB; every 30 s: ${memSamples.map((m) => (m.kib / 1024).toFixed(0)).join(' ')}`);
    const mib = (m) => (m === null ? '?' : m.toFixed(0));
    console.log(`WebAssembly memory of the answering instance: start ${mib(wasmStart)} MiB, end ${mib(wasmEnd)} MiB; every 30 s: ${memSamples.map((m) => mib(m.wasmMiB ?? null)).join(' ')}`);
    if (liveStart !== null) {
      const mib1 = (m) => (m === null ? '?' : m.toFixed(1));
      console.log(`allocated in it (heap.live_bytes): start ${mib1(liveStart)} MiB, end ${mib1(liveEnd)} MiB; every 30 s: ${memSamples.map((m) => mib1(m.liveMiB ?? null)).join(' ')}`);
      console.log(`most ever allocated in it (heap.peak_bytes): end ${mib1(peakEnd)} MiB; every 30 s: ${memSamples.map((m) => mib1(m.peakMiB ?? null)).join(' ')}`);
    }
    console.log(`most requests outstanding at once, per 30 s: ${memSamples.map((m) => m.outstanding).join(' ')}`);
    if (inspectorPort !== null) {
      const h = (x, k) => (x ? x[k].toFixed(1) : '?');
      for (const [k, label] of [['worker', "the Worker's isolate"], ['simulators', "Miniflare's R2, KV and cache simulators"]]) {
        console.log(`JavaScript heap used, ${label}: start ${h(heapStart, k)} MiB, end ${h(heapEnd, k)} MiB; every 30 s: ${memSamples.map((m) => h(m.heap, k)).join(' ')}`);
      }
    }
    for (const p of problems) console.log(`problem: ${p}`);
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, rows, status, unservable, bytes, memStart, memEnd, memSamples, wasmStart, wasmEnd, liveStart, liveEnd, peakEnd, heapStart, heapEnd, load, mix, problems }, null, 1));
    ok = status['5xx'] === 0 && unservable === 0 && status.failed === 0;
    if (!ok) process.exitCode = 1;
  } finally {
    for (const e of encoders) e.kill('SIGKILL');
    await Promise.all(encoders.map((e) => e.done.catch(() => {})));
    await origin.dispose();
    if (ok && !process.env.EDGEPACK_E2E_KEEP) await rm(dir, { recursive: true, force: true });
    else console.error(`state and logs kept in ${dir}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
