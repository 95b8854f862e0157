// A real encoder: Debian's ffmpeg pushing live HLS (two video renditions and an audio group)
// by HTTP PUT, or writing it to a directory for the harness self-test.
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
/** After its nominal run ffmpeg gets this long to flush before it is killed. */
const KILL_GRACE_MS = 15_000;

export function basicAuth(username, password) {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * ffmpeg arguments. `base` is the ingest URL ending in `/` (or a directory path ending in `/`);
 * files land at base + `master.m3u8` and base + `stream_N/...`; `fmp4` pushes fragmented MP4
 * segments instead of MPEG-TS.
 */
export function hlsArgs({ base, seconds, realtime = true, auth = null, vod = false, fmp4 = false }) {
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
    '-g', String(HLS_TIME * FPS), '-keyint_min', String(HLS_TIME * FPS), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '96k', '-ac', '2',
    '-f', 'hls', '-hls_time', String(HLS_TIME), '-hls_list_size', String(HLS_LIST_SIZE),
  );
  if (vod) args.push('-hls_playlist_type', 'vod');
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
  const ffmpeg = runFfmpeg(hlsArgs(opts), { logFile, budgetMs: opts.seconds * 1000 + KILL_GRACE_MS });
  return { ...ffmpeg, stop: (signal = 'SIGTERM') => ffmpeg.signal(signal) };
}

/** The last `n` lines of a log, for assertion messages. */
export function tail(text, n = 25) {
  return text.split('\n').slice(-n).join('\n');
}
