// A real encoder: Debian's ffmpeg pushing live HLS or DASH (two video renditions and an audio
// group) by HTTP PUT, or writing it to a directory (the harness self-test, lib/cmaf-sender.js).
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';

/** Source frame rate; segment frame counts in the tests derive from it. */
export const FPS = 30;
/** Segment duration asked of ffmpeg (seconds); also the GOP length. */
export const HLS_TIME = 2;
/** ffmpeg's own playlist window (segments). */
export const HLS_LIST_SIZE = 6;
/** The renditions pushed: stream_0 and stream_1 are video, stream_2 is the audio group. */
export const RENDITIONS = [
  { id: 0, kind: 'video', width: 640, height: 360, bitrate: '800k' },
  { id: 1, kind: 'video', width: 320, height: 180, bitrate: '300k' },
  { id: 2, kind: 'audio' },
];
export const AUDIO_GROUP = 'aud';
/** AAC bitrate of the audio rendition. */
export const AUDIO_BITRATE = '96k';
/** After its nominal run ffmpeg gets this long to flush before it is killed. */
const KILL_GRACE_MS = 15_000;

export function basicAuth(username, password) {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * The source and its encoding, shared by every muxer below: testsrc2 and a 440 Hz sine (real
 * time unless `realtime` is false) for `seconds`, two H.264 renditions (RENDITIONS) with a
 * GOP of one segment (`segmentSeconds`), AAC stereo audio (`language`, an ISO 639-2 code, when
 * given).
 */
function encodeArgs({ seconds, realtime, language = null, segmentSeconds = HLS_TIME }) {
  const [v0, v1] = RENDITIONS;
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (realtime) args.push('-re');
  args.push('-f', 'lavfi', '-i', `testsrc2=size=${v0.width}x${v0.height}:rate=${FPS}`);
  if (realtime) args.push('-re');
  args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push(
    '-filter_complex',
    `[0:v]split=2[va][vb];[vb]scale=${v1.width}:${v1.height}[vbs]`,
    '-map', '[va]', '-map', '[vbs]', '-map', '1:a',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
    '-b:v:0', v0.bitrate, '-b:v:1', v1.bitrate,
    '-g', String(segmentSeconds * FPS), '-keyint_min', String(segmentSeconds * FPS), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', AUDIO_BITRATE, '-ac', '2',
  );
  if (language) args.push('-metadata:s:a:0', `language=${language}`);
  return args;
}

/**
 * ffmpeg arguments. `base` is the ingest URL ending in `/` (or a directory path ending in `/`);
 * files land at base + `master.m3u8` and base + `stream_N/...`; `fmp4` pushes fragmented MP4
 * segments instead of MPEG-TS. `segmentSeconds` is the segment duration and GOP (HLS_TIME by
 * default). `programDateTime` adds `-hls_flags program_date_time`: ffmpeg writes
 * EXT-X-PROGRAM-DATE-TIME from its own wall clock (the system clock when the muxer starts, plus
 * media time), which the origin stores as each segment's program date time.
 */
export function hlsArgs({
  base, seconds, realtime = true, auth = null, vod = false, fmp4 = false, segmentSeconds = HLS_TIME,
  programDateTime = false,
}) {
  const args = encodeArgs({ seconds, realtime, segmentSeconds });
  args.push('-f', 'hls', '-hls_time', String(segmentSeconds), '-hls_list_size', String(HLS_LIST_SIZE));
  if (vod) args.push('-hls_playlist_type', 'vod');
  if (programDateTime) args.push('-hls_flags', 'program_date_time');
  // fMP4 (HLS_CMAF input): an init segment per rendition (`init_N.mp4`, EXT-X-MAP) and `.m4s`
  // segments; one persistent connection keeps a playlist from overtaking its segment.
  if (fmp4) args.push('-hls_segment_type', 'fmp4', '-http_persistent', '1');
  if (/^https?:/.test(base)) {
    args.push('-method', 'PUT');
    if (auth) args.push('-headers', `Authorization: ${basicAuth(auth.username, auth.password)}\r\n`);
  }
  args.push(
    '-master_pl_name', 'master.m3u8',
    '-var_stream_map', `v:0,agroup:${AUDIO_GROUP} v:1,agroup:${AUDIO_GROUP} a:0,agroup:${AUDIO_GROUP}`,
    '-hls_segment_filename', `${base}stream_%v/seg_%05d.${fmp4 ? 'm4s' : 'ts'}`,
    `${base}stream_%v/index.m3u8`,
  );
  return args;
}

/** The audio language the DASH pushes declare (ISO 639-2, as ffmpeg writes it in the MPD). */
export const DASH_LANGUAGE = 'eng';

/**
 * ffmpeg's DASH muxer (`-f dash`, HLS_TIME segments, video and audio in two adaptation sets,
 * one representation per RENDITIONS entry: `stream0`, `stream1` video, `stream2` audio, with
 * ffmpeg's default names `init-stream<id>.m4s` and `chunk-stream<id>-<n>.m4s` beside the MPD).
 * `mpd` is the manifest's URL or path. Over HTTP the muxer ignores `-headers`: `auth` goes into
 * the URL with `-http_opts auth_type=basic`, so the first request already carries it.
 * `streaming` is low-latency DASH: each segment one chunked PUT held open for its duration, a
 * CMAF chunk every 0.5 s, on one persistent connection.
 */
export function dashArgs({ mpd, seconds, realtime = true, auth = null, streaming = false }) {
  const args = encodeArgs({ seconds, realtime, language: DASH_LANGUAGE });
  args.push(
    '-f', 'dash', '-seg_duration', String(HLS_TIME), '-use_timeline', '1', '-use_template', '1',
    '-adaptation_sets', 'id=0,streams=v id=1,streams=a',
  );
  if (streaming) {
    args.push('-streaming', '1', '-ldash', '1', '-frag_type', 'duration', '-frag_duration', '0.5');
  }
  let target = mpd;
  if (/^https?:/.test(mpd)) {
    args.push('-method', 'PUT');
    if (streaming) args.push('-http_persistent', '1');
    if (auth) {
      const url = new URL(mpd);
      url.username = encodeURIComponent(auth.username);
      url.password = encodeURIComponent(auth.password);
      target = url.href;
      args.push('-http_opts', 'auth_type=basic');
    }
  }
  args.push(target);
  return args;
}

/**
 * Runs ffmpeg with `args`, its stderr (after the command line) in `logFile`; SIGKILLed after
 * `budgetMs` in any case. Returns { pid, args, logFile, startedMs, done, signal, alive, log }:
 * `signal(name)` signals this PID only and says whether it was still running; `done` resolves
 * with { code, signal, exitedMs } once the log is flushed.
 */
export function runFfmpeg(args, { logFile, budgetMs }) {
  const log = createWriteStream(logFile);
  const logClosed = new Promise((resolve) => log.once('close', resolve));
  log.write(`ffmpeg ${args.map((a) => JSON.stringify(a)).join(' ')}\n`);
  const startedMs = Date.now();
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.pipe(log);
  const alive = () => child.exitCode === null && child.signalCode === null;
  function signal(name) {
    if (!alive()) return false;
    try {
      process.kill(child.pid, name);
      return true;
    } catch {
      return false; // already gone
    }
  }
  const killer = setTimeout(() => signal('SIGKILL'), budgetMs);
  const exited = new Promise((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(killer);
      reject(err);
    });
    child.once('exit', (code, sig) => {
      clearTimeout(killer);
      resolve({ code, signal: sig, exitedMs: Date.now() });
    });
  });
  // Let the stderr pipe drain into the log before callers read it.
  const done = exited.then(async (r) => {
    await logClosed;
    return r;
  });
  return { pid: child.pid, args, logFile, startedMs, done, signal, alive, log: () => readFileSync(logFile, 'utf8') };
}

/**
 * Starts the live encoder (hlsArgs). Returns runFfmpeg's handle plus `stop(signal = SIGTERM)`;
 * `done` resolves with { code, signal } (ffmpeg exits 0 even when every upload got 401: check
 * the origin instead). Killed after its nominal run plus a grace period.
 */
export function startEncoder({ logFile, ...opts }) {
  return started(runFfmpeg(hlsArgs(opts), { logFile, budgetMs: opts.seconds * 1000 + KILL_GRACE_MS }));
}

/** The live DASH encoder (dashArgs); the same handle as startEncoder's. */
export function startDashEncoder({ logFile, ...opts }) {
  return started(runFfmpeg(dashArgs(opts), { logFile, budgetMs: opts.seconds * 1000 + KILL_GRACE_MS }));
}

function started(ffmpeg) {
  return { ...ffmpeg, stop: (signal = 'SIGTERM') => ffmpeg.signal(signal) };
}

/** The last `n` lines of a log, for assertion messages. */
export function tail(text, n = 25) {
  return text.split('\n').slice(-n).join('\n');
}
