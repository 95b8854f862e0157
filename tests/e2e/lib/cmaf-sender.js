// A DASH-IF Live Media Ingest interface-1 sender (https://dashif.org/Ingest/, "CMAF ingest"):
// Debian's ffmpeg encodes live into a temporary directory with its DASH muxer, one CMAF track
// per file (`init-stream<id>.m4s`, then `chunk-stream<id>-<n>.m4s`, each written as `.tmp` and
// renamed once complete), and the sender POSTs each track's header (init segment) and then each
// completed segment, as they complete, to one or both inputs of a channel. Both inputs get the
// same bytes, so their segments carry the same tfdt: the inputs are aligned. Sending to one
// input can stop while the other goes on (failover).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicAuth, dashArgs, runFfmpeg } from './encoder.js';
import { sleep } from './wait.js';

/**
 * The tracks sent, one per ffmpeg representation (lib/encoder.js RENDITIONS): `stream` is the
 * representation id in ffmpeg's file names, `name` the track name on the ingest paths.
 */
export const TRACKS = [
  { stream: 0, name: 'video_0', kind: 'video', ext: 'cmfv' },
  { stream: 1, name: 'video_1', kind: 'video', ext: 'cmfv' },
  { stream: 2, name: 'audio', kind: 'audio', ext: 'cmfa' },
];

/** The directory is scanned for completed segments this often. */
const POLL_MS = 100;
/** After its nominal run ffmpeg gets this long before it is killed. */
const KILL_GRACE_MS = 15_000;
const CHUNK = /^chunk-stream(\d+)-(\d+)\.m4s$/;

/**
 * The ingest path of a track's init segment (`number` null) or media segment `number`:
 * `Streams(<name>.<ext>)` for both (the form DASH-IF ingest names), or with `form:
 * 'directory'` one directory per track (`<name>/init.cmfi`, `<name>/<number>.<ext>`).
 */
export function trackPath(track, number, form = 'streams') {
  if (form === 'streams') return `Streams(${track.name}.${track.ext})`;
  return number === null ? `${track.name}/init.cmfi` : `${track.name}/${number}.${track.ext}`;
}

/** ffmpeg writing `seconds` of the tracks into `dir` (which must exist). */
function encode({ dir, seconds, realtime, logFile }) {
  return runFfmpeg(dashArgs({ mpd: join(dir, 'manifest.mpd'), seconds, realtime }), {
    logFile,
    budgetMs: seconds * 1000 + KILL_GRACE_MS,
  });
}

/** The completed media segments in `dir` per ffmpeg stream id, as sorted segment numbers. */
function completed(dir) {
  const out = new Map();
  for (const name of readdirSync(dir)) {
    const m = CHUNK.exec(name);
    if (!m) continue;
    const stream = Number(m[1]);
    if (!out.has(stream)) out.set(stream, []);
    out.get(stream).push(Number(m[2]));
  }
  for (const list of out.values()) list.sort((a, b) => a - b);
  return out;
}

const initFile = (dir, track) => join(dir, `init-stream${track.stream}.m4s`);
const segmentFile = (dir, track, n) => join(dir, `chunk-stream${track.stream}-${String(n).padStart(5, '0')}.m4s`);

/**
 * Encodes `seconds` into `dir` as fast as ffmpeg can and returns every track's bytes:
 * [{ ...track, init, segments: [Buffer] }] (for single requests, not a live push).
 */
export async function recordCmafTracks({ dir, seconds, logFile }) {
  const ffmpeg = encode({ dir, seconds, realtime: false, logFile });
  const { code } = await ffmpeg.done;
  if (code !== 0) throw new Error(`ffmpeg exited ${code}; log: ${logFile}`);
  const done = completed(dir);
  return TRACKS.map((t) => ({
    ...t,
    init: readFileSync(initFile(dir, t)),
    segments: (done.get(t.stream) ?? []).map((n) => readFileSync(segmentFile(dir, t, n))),
  }));
}

/**
 * Starts ffmpeg (real time, `seconds`) writing into `dir` and sends every track to each input
 * in `inputs` ({ 1: input, 2: input }: the channel's input JSON, `url` ending in `/`), by POST
 * with the input's Basic credentials, on the paths trackPath(`form`) gives. Per input and track
 * the uploads go one at a time, in order: the init segment before the first media segment.
 * A file goes to input 2 once input 1 has answered for it (while input 1 is sent to), as from
 * a primary encoder a little ahead of its backup: input 1 is the first active input.
 *
 * Returns { ffmpeg, uploads, stopInput(n), stop(), done, sent(n), describe() }:
 * - `uploads`: every answered upload, { input, track, path, number (null: init), status,
 *   text (the body of a refusal), atMs };
 * - `stopInput(n)`: nothing more goes to input n (uploads already under way finish);
 * - `stop()`: ends ffmpeg (SIGTERM) and the scanning; `done` resolves once ffmpeg has exited
 *   and every queued upload was answered;
 * - `sent(n)`: per track name, the media segments input n stored (201);
 * - `describe()`: status counts per input, and the first refusals, for assertion messages.
 */
export function startCmafSender({ dir, seconds, inputs, form = 'streams', logFile }) {
  const ffmpeg = encode({ dir, seconds, realtime: true, logFile });
  const uploads = [];
  const active = new Set(Object.keys(inputs).map(Number));
  const queues = new Map();
  const queued = new Map(TRACKS.map((t) => [t.stream, 0]));
  let scanning = true;

  async function post(input, track, number, body) {
    const { url, username, password } = inputs[input];
    const path = trackPath(track, number, form);
    const entry = { input, track: track.name, path, number, status: null, text: '', atMs: 0 };
    try {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { authorization: basicAuth(username, password), 'content-type': `${track.kind}/mp4` },
        body,
      });
      entry.status = res.status;
      const text = await res.text();
      if (res.status >= 300) entry.text = text.slice(0, 300);
    } catch (err) {
      entry.text = err.message;
    }
    entry.atMs = Date.now();
    uploads.push(entry);
  }

  /**
   * Queues one file for every input still sent to, after that input's earlier uploads and
   * after the lower-numbered inputs' upload of the same file.
   */
  function send(track, number, body) {
    let before = Promise.resolve();
    for (const input of [...active].sort((a, b) => a - b)) {
      const key = `${input}/${track.name}`;
      const previous = before;
      const sent = (queues.get(key) ?? Promise.resolve()).then(() => previous).then(() => post(input, track, number, body));
      queues.set(key, sent);
      before = sent;
    }
  }

  function scan() {
    const done = completed(dir);
    for (const track of TRACKS) {
      for (const n of done.get(track.stream) ?? []) {
        if (n <= queued.get(track.stream)) continue;
        // The init segment is complete once ffmpeg has renamed the track's first segment.
        if (queued.get(track.stream) === 0) send(track, null, readFileSync(initFile(dir, track)));
        send(track, n, readFileSync(segmentFile(dir, track, n)));
        queued.set(track.stream, n);
      }
    }
  }

  const scanner = (async () => {
    for (;;) {
      const running = ffmpeg.alive();
      try {
        scan();
      } catch {
        // ffmpeg renamed a file between readdir and read: the next scan takes it.
      }
      if (!running || !scanning) break;
      await sleep(POLL_MS);
    }
  })();

  const done = Promise.all([ffmpeg.done, scanner]).then(async ([exit]) => {
    await Promise.all(queues.values());
    return exit;
  });

  function sent(input) {
    const out = Object.fromEntries(TRACKS.map((t) => [t.name, 0]));
    for (const u of uploads) if (u.input === input && u.number !== null && u.status === 201) out[u.track]++;
    return out;
  }

  function describe() {
    const lines = [];
    for (const input of Object.keys(inputs).map(Number)) {
      const counts = {};
      for (const u of uploads) if (u.input === input) counts[u.status] = (counts[u.status] ?? 0) + 1;
      lines.push(`input ${input}${active.has(input) ? '' : ' (stopped)'}: ${JSON.stringify(counts)}`);
    }
    for (const u of uploads.filter((x) => x.status !== 201).slice(0, 5)) {
      lines.push(`  ${u.status} input ${u.input} POST ${u.path}: ${u.text}`);
    }
    return `${lines.join('\n')}\nffmpeg log: ${logFile}`;
  }

  return {
    ffmpeg,
    uploads,
    logFile,
    stopInput: (input) => active.delete(input),
    stop() {
      scanning = false;
      return ffmpeg.signal('SIGTERM');
    },
    done,
    sent,
    describe,
  };
}
