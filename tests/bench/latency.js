// Glass-to-glass latency of real players against the Worker in local workerd: how far behind
// the encoder's wall clock each player plays, per segment duration and hold-back. Run by hand
// (`make latency`), not part of `make test`:
//
//   cd tests && node bench/latency.js [--seconds 60] [--settle 10] [--segments 2,1] [--starts 1]
//     [--hold-back auto,3td] [--players hls.js,Shaka] [--json out.json]
//
// ffmpeg pushes live HLS in real time with `-hls_flags program_date_time`: each segment's
// EXT-X-PROGRAM-DATE-TIME is ffmpeg's system clock (CLOCK_REALTIME, read once when the muxer
// starts) plus media time, so it is the wall-clock time at which `-re` released the frame
// (encoding and upload come after). The origin stores it as the segment's program date time and
// writes it into HLS (EXT-X-PROGRAM-DATE-TIME) and DASH (Period start on availabilityStartTime
// 0). Each player reports the wall-clock time of its playing position with its own API
// (lib/player-page.js `liveLatency`), Chromium and ffmpeg reading the same clock on this
// machine, so `now - playing time` is the latency a viewer sees, encoder delay included.
//
// Per segment duration one channel and one push; per hold-back (automatic, and three target
// durations) the players play at once, each in its own page: hls.js (lowLatencyMode true, its
// default: blocking reload), hls.js with lowLatencyMode false (reload once per target
// duration), both on HLS (TS); Shaka on HLS-CMAF; dash.js on DASH; and hls.js and Shaka with
// their live catch-up enabled; and the HTTP-FLV endpoint read raw (`--players flv`): each video
// tag's arrival against the encoder's wall clock of its frame (the stream's starting segment's
// program date time, sent in a response header, plus the tag's presentation time since the
// first frame: e2e/lib/flv.js `frameLatencies`), the latency a player that renders frames on
// arrival would have (mpegts.js adds its own buffer); it has no hold-back and runs in the first
// hold-back round only. `--players` keeps the players whose name contains one of the
// given words, `--hold-back` the automatic (`auto`) or three-target-duration (`3td`) runs. After `--settle` seconds of
// playback, every 250 ms sample for `--seconds` seconds counts. Everything on 127.0.0.1.
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { startOrigin } from '../e2e/lib/origin.js';
import { startEncoder, tail } from '../e2e/lib/encoder.js';
import { startPlayers } from '../e2e/lib/players.js';
import { createChannel } from '../e2e/lib/packaging-channel.js';
import { readMaster } from '../e2e/lib/endpoint.js';
import { parseMedia } from '../e2e/lib/m3u8.js';
import { tempDir } from '../e2e/lib/paths.js';
import { waitFor } from '../e2e/lib/wait.js';
import { frameLatencies, readStream, START_PDT_HEADER } from '../e2e/lib/flv.js';

/** Channel `max_segment_duration` per segment duration: README "Latency" rows. */
const MAX_SEGMENT_DURATION = { 2: 4, 1: 3 };
/** The players of one hold-back run: name, player, endpoint protocol, player configuration. */
const PLAYERS = [
  { name: 'hls.js lowLatencyMode true (default)', player: 'hls.js', protocol: 'HLS' },
  { name: 'hls.js lowLatencyMode false', player: 'hls.js', protocol: 'HLS', playerConfig: { lowLatencyMode: false } },
  { name: 'Shaka (HLS-CMAF)', player: 'shaka', protocol: 'HLS_CMAF' },
  { name: 'dash.js (DASH)', player: 'dash.js', protocol: 'DASH' },
  // The players' own live catch-up, off by default in hls.js and Shaka: each plays slightly
  // faster until it sits at the stated target (HOLD-BACK) behind its estimate of the live edge.
  {
    name: 'hls.js catch-up (maxLiveSyncPlaybackRate 1.5)',
    player: 'hls.js',
    protocol: 'HLS',
    playerConfig: { maxLiveSyncPlaybackRate: 1.5 },
  },
  {
    name: 'Shaka catch-up (liveSync, HLS-CMAF)',
    player: 'shaka',
    protocol: 'HLS_CMAF',
    // Shaka's target is its own setting (default 0.5 s): the stated HOLD-BACK.
    playerConfig: (holdBack) => ({ streaming: { liveSync: { enabled: true, targetLatency: holdBack, maxPlaybackRate: 1.5 } } }),
  },
  // Not a player: the FLV endpoint's tags as they arrive (no hold-back; first round only).
  { name: 'flv raw reader (HTTP-FLV, frames on arrival)', player: 'flv-reader', protocol: 'FLV' },
];
/** Time a player gets to start playing before its run is given up, ms. */
const STARTUP_MS = 30_000;
/** Content the push needs beyond the measured runs (channel set-up, player start-up), s. */
const PUSH_SPARE_SECONDS = 60;
const ENDPOINT_KEYS = { HLS: 'ts', HLS_CMAF: 'cmaf', DASH: 'dash' };
/** The FLV endpoint's name: one per channel, whatever the hold-back. */
const FLV_ENDPOINT = 'flv';
const endpointName = (protocol, hb) => (protocol === 'FLV' ? FLV_ENDPOINT : `${ENDPOINT_KEYS[protocol]}-${hb.value ?? 'auto'}`);

function parseArgs(argv) {
  const opts = { seconds: 60, settle: 10, segments: [2, 1], starts: 1, json: null, holdBacks: ['auto', '3td'], players: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seconds') opts.seconds = Number(argv[++i]);
    else if (argv[i] === '--settle') opts.settle = Number(argv[++i]);
    else if (argv[i] === '--segments') opts.segments = argv[++i].split(',').map(Number);
    else if (argv[i] === '--starts') opts.starts = Number(argv[++i]);
    else if (argv[i] === '--json') opts.json = argv[++i];
    else if (argv[i] === '--hold-back') opts.holdBacks = argv[++i].split(',');
    else if (argv[i] === '--players') opts.players = argv[++i].split(',');
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(opts.seconds >= 5 && opts.seconds <= 600)) throw new Error('--seconds must be 5-600');
  if (!(opts.settle >= 0 && opts.settle <= 120)) throw new Error('--settle must be 0-120');
  for (const s of opts.segments) if (!MAX_SEGMENT_DURATION[s]) throw new Error(`--segments: ${s} (1 or 2)`);
  if (!(Number.isInteger(opts.starts) && opts.starts >= 1 && opts.starts <= 20)) throw new Error('--starts must be 1-20');
  for (const h of opts.holdBacks) if (h !== 'auto' && h !== '3td') throw new Error(`--hold-back: ${h} (auto or 3td)`);
  opts.playerList = PLAYERS.filter((p) => !opts.players || opts.players.some((w) => p.name.includes(w)));
  if (!opts.playerList.length) throw new Error(`--players: no player name contains ${opts.players}`);
  return opts;
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

/** The HOLD-BACK of the endpoint's first rendition playlist (HLS), for the table. */
async function statedHoldBack(manifestUrl) {
  const { renditions } = await readMaster(manifestUrl);
  const text = await (await fetch(renditions[0].url)).text();
  const m = /HOLD-BACK=([\d.]+)/.exec(text);
  return { holdBack: m ? Number(m[1]) : null, playlist: parseMedia(text), url: renditions[0].url };
}

/**
 * Polls an HLS rendition playlist every 100 ms until stopped and records, for each segment
 * that appears, how long after its end (program date time + duration, the encoder's clock) it
 * was first listed: the encoder's and the upload's share of the latency, before any player.
 */
function watchAvailability(url) {
  const delays = [];
  let stopped = false;
  let last = null;
  const loop = (async () => {
    while (!stopped) {
      try {
        const text = await (await fetch(url)).text();
        const seen = Date.now();
        const pl = parseMedia(text);
        const seg = pl.segments.at(-1);
        if (last !== null && seg && seg.sequence > last) {
          // PDT of the newest segment: carried forward from the last tag (interval 1 s).
          let pdt = null;
          let prevDuration = 0;
          for (const x of pl.segments) {
            pdt = x.programDateTime ? Date.parse(x.programDateTime) : pdt === null ? null : pdt + prevDuration * 1000;
            prevDuration = x.duration;
          }
          if (pdt !== null) delays.push((seen - (pdt + seg.duration * 1000)) / 1000);
        }
        if (seg) last = seg.sequence;
      } catch {
        // the next poll tries again
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const sorted = [...delays].sort((a, b) => a - b);
      return { n: sorted.length, p50: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
    },
  };
}

/** One player on `url` for settle + seconds of playback; its latency samples and events. */
async function measure(players, { player, playerConfig, url }, opts) {
  const samples = [];
  const waits = new Set();
  const r = await players.play({
    player,
    url,
    playerConfig,
    minAdvance: opts.settle + opts.seconds,
    timeoutMs: STARTUP_MS + (opts.settle + opts.seconds) * 1000 * 1.5,
    sample(state) {
      if (state.startWallMs !== null) for (const e of state.events) if (e.kind === 'waiting' && e.t - state.startWallMs > 1000) waits.add(e.t);
      if (state.startWallMs === null || state.liveLatency === null) return;
      const sincePlaying = (state.nowMs - state.startWallMs) / 1000;
      if (sincePlaying >= opts.settle) samples.push(state.liveLatency);
    },
  });
  const stalls = waits.size;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    raw: samples,
    samples: samples.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    min: sorted[0] ?? NaN,
    max: sorted.at(-1) ?? NaN,
    played: r.advanced,
    stalls,
    fatal: r.fatal ?? [],
  };
}

/**
 * The FLV endpoint read raw for settle + seconds: per video frame, arrival minus the encoder's
 * wall time of the frame (`frameLatencies`); frames after `settle` seconds count. A gap of more
 * than two segment durations between chunks counts as a stall.
 */
async function measureFlv(url, opts, segmentSeconds) {
  const ms = (opts.settle + opts.seconds) * 1000;
  const { res, bytes, arrivals } = await readStream(url, ms);
  if (res.status !== 200 || !arrivals.length) {
    return { raw: [], samples: 0, p50: NaN, p95: NaN, min: NaN, max: NaN, played: 0, stalls: 0, fatal: [`HTTP ${res.status}`] };
  }
  const frames = frameLatencies(bytes, arrivals, res.headers.get(START_PDT_HEADER));
  const from = arrivals[0].wallMs + opts.settle * 1000;
  const samples = frames.filter((f) => f.wallMs >= from).map((f) => f.latency);
  // A segment's first frame waits longest (the segment is sent once complete): what a player
  // that plays at a constant delay without stalling needs at least.
  const keyframes = frames.filter((f) => f.wallMs >= from && f.keyframe).map((f) => f.latency);
  let stalls = 0;
  for (let i = 1; i < arrivals.length; i++) if (arrivals[i].wallMs - arrivals[i - 1].wallMs > 2 * segmentSeconds * 1000) stalls++;
  const sorted = [...samples].sort((a, b) => a - b);
  const ended = arrivals.at(-1).wallMs - arrivals[0].wallMs < ms - 2 * segmentSeconds * 1000;
  return {
    raw: samples,
    samples: samples.length,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    min: sorted[0] ?? NaN,
    max: sorted.at(-1) ?? NaN,
    played: (arrivals.at(-1).wallMs - arrivals[0].wallMs) / 1000,
    stalls,
    fatal: ended ? ['the origin ended the stream early'] : [],
    firstFrame: frames[0]?.latency ?? NaN,
    keyframes,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await tempDir('bench-latency');
  const origin = await startOrigin({ dir: join(dir, 'origin') });
  const players = await startPlayers();
  const rows = [];
  const availabilities = [];
  const encoders = [];
  let ok = false;
  const started = new Date();
  const load = [loadavg()[0]];
  try {
    for (const seg of opts.segments) {
      const holdBacks = [
        { key: 'auto', label: 'automatic', value: null },
        { key: '3td', label: `${3 * seg} s (3 target durations)`, value: 3 * seg },
      ].filter((hb) => opts.holdBacks.includes(hb.key));
      const endpoints = [];
      for (const hb of holdBacks) {
        for (const protocol of Object.keys(ENDPOINT_KEYS)) {
          endpoints.push({
            name: `${ENDPOINT_KEYS[protocol]}-${hb.value ?? 'auto'}`,
            protocol,
            hold_back: hb.value,
            program_date_time_interval: 1,
          });
        }
      }
      if (opts.playerList.some((p) => p.protocol === 'FLV')) endpoints.push({ name: FLV_ENDPOINT, protocol: 'FLV' });
      const made = await createChannel(origin, {
        group: 'bench-latency',
        channel: `seg${seg}`,
        settings: { max_segment_duration: MAX_SEGMENT_DURATION[seg] },
        endpoints,
      });
      const runSeconds = holdBacks.length * opts.starts * (opts.settle + opts.seconds + STARTUP_MS / 1000 + seg) + PUSH_SPARE_SECONDS;
      const encoder = startEncoder({
        base: made.input.url,
        seconds: runSeconds,
        segmentSeconds: seg,
        programDateTime: true,
        auth: { username: made.input.username, password: made.input.password },
        logFile: join(dir, `ffmpeg-seg${seg}.log`),
      });
      encoders.push(encoder);
      const firstUrl = made.endpoints[endpoints[0].name].url;
      await waitFor(`segments with ${seg} s content`, async () => (await statedHoldBack(firstUrl)).playlist.segments.length >= 6, {
        timeoutMs: 60_000,
      }).catch((err) => {
        throw new Error(`${err.message}\n${tail(encoder.log(), 10)}`);
      });
      const availability = watchAvailability((await statedHoldBack(firstUrl)).url);
      for (const hb of holdBacks) {
        const stated = { FLV: 'n/a' };
        // The FLV reader has no hold-back: it runs in the first round only.
        const list = opts.playerList.filter((p) => p.protocol !== 'FLV' || hb === holdBacks[0]);
        for (const p of list) {
          const ep = made.endpoints[endpointName(p.protocol, hb)];
          if (p.protocol === 'FLV') continue;
          if (p.protocol !== 'DASH') stated[p.protocol] = (await statedHoldBack(ep.url)).holdBack;
          else {
            const mpd = await (await fetch(ep.url)).text();
            stated.DASH = /suggestedPresentationDelay="PT([\d.]+)S"/.exec(mpd)?.[1] ?? '?';
          }
        }
        const runs = [];
        for (let start = 0; start < opts.starts; start++) {
          // A random point in the segment cycle, so the starts sample where players land.
          if (opts.starts > 1) await new Promise((r) => setTimeout(r, Math.random() * seg * 1000));
          runs.push(await Promise.all(list.map((p) => {
            const ep = made.endpoints[endpointName(p.protocol, hb)];
            if (p.protocol === 'FLV') return measureFlv(ep.url, opts, seg);
            const playerConfig = typeof p.playerConfig === 'function' ? p.playerConfig(stated[p.protocol]) : p.playerConfig;
            return measure(players, { ...p, playerConfig, url: ep.url }, opts);
          })));
        }
        list.forEach((p, i) => {
          const mine = runs.map((r) => r[i]);
          const pooled = mine.flatMap((r) => r.raw).sort((a, b) => a - b);
          const row = {
            segment: seg,
            holdBack: p.protocol === 'FLV' ? 'none (GOP cache start)' : hb.label,
            stated: stated[p.protocol],
            player: p.name,
            starts: mine.length,
            samples: pooled.length,
            p50: quantile(pooled, 0.5),
            p95: quantile(pooled, 0.95),
            min: pooled[0] ?? NaN,
            max: pooled.at(-1) ?? NaN,
            startMedians: mine.map((r) => r.p50),
            firstFrames: mine.map((r) => r.firstFrame).filter((x) => x !== undefined),
            keyframes: mine.flatMap((r) => r.keyframes ?? []).sort((a, b) => a - b),
            stalls: mine.reduce((n, r) => n + r.stalls, 0),
            fatal: mine.flatMap((r) => r.fatal),
          };
          rows.push(row);
          console.error(`measured: ${JSON.stringify(row)}`);
        });
        load.push(loadavg()[0]);
      }
      availabilities.push({ segment: seg, ...(await availability.stop()) });
      encoder.stop('SIGTERM');
      await encoder.done;
    }

    console.log(`edgepack glass-to-glass latency, local workerd (Miniflare), ${started.toISOString()}`);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; 1-min load ${load.map((l) => l.toFixed(1)).join(' -> ')}`);
    console.log(`${opts.seconds} s of 250 ms samples per start after ${opts.settle} s of playback (the FLV reader: one sample per video frame); ${opts.starts} start(s) per case; ${opts.playerList.length} players at once per hold-back`);
    console.log('');
    console.log('| segments | hold-back setting | stated (HOLD-BACK / delay) | player | starts | p50 s | p95 s | min-max s | per-start medians s | samples | stalls | fatal |');
    console.log('|---|---|---|---|---:|---:|---:|---|---|---:|---:|---|');
    for (const r of rows) {
      const medians = r.startMedians.map((m) => m.toFixed(2)).join(', ');
      console.log(`| ${r.segment} s | ${r.holdBack} | ${r.stated === 'n/a' ? 'n/a' : `${r.stated} s`} | ${r.player} | ${r.starts} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.min.toFixed(2)}-${r.max.toFixed(2)} | ${medians} | ${r.samples} | ${r.stalls} | ${r.fatal.length ? r.fatal[0].slice(0, 60) : 'none'} |`);
    }
    for (const r of rows.filter((x) => x.firstFrames.length)) {
      console.log('');
      console.log(`${r.segment} s segments, ${r.player}: the first frame (GOP cache) arrived ${r.firstFrames.map((x) => x.toFixed(2)).join(', ')} s behind the encoder; each later segment's first frame (keyframe) ${quantile(r.keyframes, 0.5).toFixed(2)} s (p50), ${quantile(r.keyframes, 0.95).toFixed(2)} s (p95) over ${r.keyframes.length} segments`);
    }
    console.log('');
    for (const a of availabilities) {
      console.log(`${a.segment} s segments: a segment is first listed ${a.p50.toFixed(2)} s (p50), ${a.p95.toFixed(2)} s (p95) after its end by the encoder's clock (${a.n} segments; encoding, upload, ingest)`);
    }
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, started, rows, availabilities }, null, 1));
    ok = true;
  } finally {
    for (const e of encoders) {
      e.stop('SIGKILL');
      await e.done.catch(() => {});
    }
    await players.close();
    await origin.dispose();
    if (ok && !process.env.EDGEPACK_E2E_KEEP) await rm(dir, { recursive: true, force: true });
    else console.error(`state and logs kept in ${dir}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
