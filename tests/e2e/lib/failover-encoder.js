// Redundant encoders for the failover tests: one pre-recorded source (two H.264 renditions and
// AAC in one MPEG-TS), pushed live by two ffmpeg processes with `-c copy -copyts`, so both
// inputs carry identical timestamps and segment boundaries (docs/timeline.md, "The failover decision"), or with
// shifted timestamps (`-output_ts_offset`) for the misaligned case.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { basicAuth, runFfmpeg, RENDITIONS, FPS, AUDIO_GROUP, HLS_LIST_SIZE } from './encoder.js';

const run = promisify(execFile);

/** Segment duration asked of ffmpeg (seconds); the source's GOP is exactly this long. */
export const SEGMENT_SECONDS = 2;
/** Recording the source must not take longer than this (2 busy cores: ~40 s for 90 s). */
const RECORD_TIMEOUT_MS = 180_000;
/** A pushing ffmpeg never outlives the source by more than this. */
const PUSH_GRACE_MS = 15_000;

/**
 * Records `seconds` of testsrc2 + sine into `file`: stream 0 640x360 800k, stream 1 320x180
 * 300k (H.264, closed fixed GOP of SEGMENT_SECONDS, no scene cuts), stream 2 AAC 48 kHz.
 * `preset` is x264's (`ultrafast` records 240 s in ~15 s on 2 busy cores, `veryfast` ~4x slower).
 * Returns { file, args, ms }.
 */
export async function recordSource(file, seconds, { preset = 'veryfast' } = {}) {
  const [v0, v1] = RENDITIONS;
  const gop = String(SEGMENT_SECONDS * FPS);
  const args = [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${v0.width}x${v0.height}:rate=${FPS}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-filter_complex', `[0:v]split=2[va][vb];[vb]scale=${v1.width}:${v1.height}[vbs]`,
    '-map', '[va]', '-map', '[vbs]', '-map', '1:a',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', preset, '-profile:v', 'main', '-pix_fmt', 'yuv420p',
    '-b:v:0', v0.bitrate, '-b:v:1', v1.bitrate,
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-flags', '+cgop',
    '-c:a', 'aac', '-b:a', '96k', '-ac', '2',
    '-f', 'mpegts', file,
  ];
  const t0 = Date.now();
  await run('ffmpeg', args, { timeout: RECORD_TIMEOUT_MS, maxBuffer: 4 << 20 });
  return { file, args, ms: Date.now() - t0 };
}

/** MPEG-TS packet size and sync byte (ISO/IEC 13818-1 2.4.3.2). */
const TS_PACKET = 188;
const TS_SYNC = 0x47;
/** The source's elementary stream PIDs, in ffmpeg's order: 640x360, 320x180, audio. */
const SOURCE_PIDS = [0x100, 0x101, 0x102];
/** Declared BANDWIDTH over the measured average: a peak bound for 2 s segments of CBR-ish x264. */
const PEAK_FACTOR = 1.5;

/** `avc1.PPCCLL` from the first SPS (nal_unit_type 7) in a TS packet payload of `pid`. */
function spsCodec(payload) {
  for (let i = 0; i + 6 < payload.length; i++) {
    if (payload[i] === 0 && payload[i + 1] === 0 && payload[i + 2] === 1 && (payload[i + 3] & 0x1f) === 7) {
      const hex = (b) => b.toString(16).padStart(2, '0');
      return `avc1.${hex(payload[i + 4])}${hex(payload[i + 5])}${hex(payload[i + 6])}`;
    }
  }
  return null;
}

/**
 * The master playlist a correctly configured encoder would send for the source. ffmpeg's own
 * master in stream-copy mode has no video CODECS (hlsenc reads profile/level only from
 * Annex B extradata, which a copied TS stream lacks), one BANDWIDTH for every variant, and an
 * audio-only variant with CODECS; hls.js 1.7.4 fails on that master with a fatal
 * bufferAppendError on the audio playlist even from a plain file server. So the test sends
 * this master instead: CODECS from the source's SPS, BANDWIDTH and AVERAGE-BANDWIDTH from its
 * bytes per PID.
 */
export async function sourceMaster(file, seconds) {
  const ts = await readFile(file);
  const bytes = new Map(SOURCE_PIDS.map((p) => [p, 0]));
  const codecs = new Map();
  for (let off = 0; off + TS_PACKET <= ts.length; off += TS_PACKET) {
    if (ts[off] !== TS_SYNC) throw new Error(`${file}: lost TS sync at byte ${off}`);
    const pid = ((ts[off + 1] & 0x1f) << 8) | ts[off + 2];
    if (!bytes.has(pid)) continue;
    bytes.set(pid, bytes.get(pid) + TS_PACKET);
    const afc = (ts[off + 3] >> 4) & 0x3;
    if (codecs.has(pid) || !(afc & 1)) continue;
    const start = off + 4 + (afc & 2 ? 1 + ts[off + 4] : 0);
    const c = spsCodec(ts.subarray(start, off + TS_PACKET));
    if (c) codecs.set(pid, c);
  }
  const [v0, v1, a] = SOURCE_PIDS;
  const bps = (pid) => Math.ceil((bytes.get(pid) * 8) / seconds);
  for (const pid of [v0, v1]) if (!codecs.has(pid)) throw new Error(`${file}: no SPS on PID ${pid}`);
  const aac = 'mp4a.40.2';
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  lines.push(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${AUDIO_GROUP}",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="stream_2/index.m3u8"`);
  for (const [i, pid] of [v0, v1].entries()) {
    const r = RENDITIONS[i];
    const avg = bps(pid) + bps(a);
    lines.push(
      `#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(avg * PEAK_FACTOR)},AVERAGE-BANDWIDTH=${avg},CODECS="${codecs.get(pid)},${aac}",RESOLUTION=${r.width}x${r.height},FRAME-RATE=${FPS.toFixed(3)},AUDIO="${AUDIO_GROUP}"`,
      `stream_${i}/index.m3u8`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** PUTs `master` to the input, as an encoder does (bounded retries while the origin starts). */
export async function putMaster(base, auth, master) {
  const url = `${base}master.m3u8`;
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const res = await fetch(url, {
      method: 'PUT',
      headers: { authorization: basicAuth(auth.username, auth.password), 'content-type': 'application/vnd.apple.mpegurl' },
      body: master,
    });
    last = `PUT ${url} -> ${res.status} ${(await res.text()).slice(0, 300)}`;
    if (res.ok) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(last);
}

/**
 * ffmpeg arguments pushing `source` live to the ingest base `base` (ending in `/`):
 * `-re -copyts`, stream copy, HLS with two video variants and the audio group, like
 * lib/encoder.js, but no master playlist (see sourceMaster). `tsOffset` shifts every timestamp (seconds); `seek` starts at the key frame
 * at or before that source position (seconds), as a restarted live encoder would. `cut` (seconds,
 * in the source's own timestamps) drops every packet before it and keeps the timestamps of the
 * rest (output `-ss` with an equal `-output_ts_offset`): a restarted encoder whose audio must
 * start on the first encoder's segment grid (the HLS muxer cuts an audio-only stream every
 * `hls_time` counted from its first packet, so a plain seek shifts its boundaries; see
 * first-arrival.soak.js). `startNumber` is the first segment's number (`-start_number`; ffmpeg
 * starts every run at 0 otherwise, so a restarted encoder reuses the file names of its
 * previous run).
 */
export function pushArgs({ source, base, auth, tsOffset = 0, seek = 0, cut = null, startNumber = null }) {
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (seek > 0) args.push('-ss', String(seek));
  args.push('-re', '-copyts', '-i', source, '-map', '0:v:0', '-map', '0:v:1', '-map', '0:a:0', '-c', 'copy');
  if (cut !== null) args.push('-ss', cut.toFixed(6), '-output_ts_offset', cut.toFixed(6));
  if (tsOffset !== 0) args.push('-output_ts_offset', String(tsOffset));
  args.push(
    '-f', 'hls', '-hls_time', String(SEGMENT_SECONDS), '-hls_list_size', String(HLS_LIST_SIZE),
    ...(startNumber === null ? [] : ['-start_number', String(startNumber)]),
    '-method', 'PUT',
    // ffmpeg's HLS muxer ignores -auth_type; credentials go in -headers (docs/testing.md).
    '-headers', `Authorization: ${basicAuth(auth.username, auth.password)}\r\n`,
    '-var_stream_map', `v:0,agroup:${AUDIO_GROUP} v:1,agroup:${AUDIO_GROUP} a:0,agroup:${AUDIO_GROUP}`,
    '-hls_segment_filename', `${base}stream_%v/seg_%05d.ts`,
    `${base}stream_%v/index.m3u8`,
  );
  return args;
}

/**
 * Starts a pushing ffmpeg (pushArgs). Returns lib/encoder.js's runFfmpeg handle (pid, startedMs,
 * done, alive, log, ...) plus `kill(signal = SIGKILL)`, which signals this PID only and says
 * whether it was still running. The process is SIGKILLed after `maxSeconds` plus a grace period
 * in any case.
 */
export function startPush({ logFile, maxSeconds, ...opts }) {
  const ffmpeg = runFfmpeg(pushArgs(opts), { logFile, budgetMs: maxSeconds * 1000 + PUSH_GRACE_MS });
  return { ...ffmpeg, kill: (signal = 'SIGKILL') => ffmpeg.signal(signal) };
}
