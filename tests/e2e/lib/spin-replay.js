// A recorded ffmpeg HLS push (files on disk) replayed to an origin's input as a live encoder
// would PUT it: each segment, then its media playlist grown by one entry. Replays are
// deterministic (program date times included: they are written into the playlists from a fixed
// start, not taken from arrival), so two platforms fed the same recording serve the same bytes.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEncoder, basicAuth, tail, RENDITIONS } from './encoder.js';

/** A media playlist as header lines and (EXTINF, URI) entries, without VOD markers. */
export function splitPlaylist(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const first = lines.findIndex((l) => l.startsWith('#EXTINF'));
  const header = lines.slice(0, first).filter((l) => !l.startsWith('#EXT-X-PLAYLIST-TYPE'));
  const entries = [];
  for (let i = first; i < lines.length; i++) {
    if (lines[i].startsWith('#EXTINF')) entries.push([lines[i], lines[i + 1]]);
  }
  return { header, entries };
}

/** Records `seconds` of the encoder's test stream (faster than real time) under `dir`. */
export async function record(dir, seconds) {
  for (const r of RENDITIONS) await mkdir(join(dir, `stream_${r.id}`), { recursive: true });
  const enc = startEncoder({ base: `${dir}/`, seconds, realtime: false, vod: true, logFile: join(dir, 'ffmpeg.log') });
  const result = await enc.done;
  assert.equal(result.code, 0, `ffmpeg recording failed:\n${tail(enc.log())}`);
  const recording = { master: await readFile(join(dir, 'master.m3u8')), renditions: [] };
  for (const r of RENDITIONS) {
    const path = `stream_${r.id}`;
    const playlist = splitPlaylist(await readFile(join(dir, path, 'index.m3u8'), 'utf8'));
    const segments = await Promise.all(playlist.entries.map(([, uri]) => readFile(join(dir, path, uri))));
    recording.renditions.push({ path, playlist, segments });
  }
  return recording;
}

/** Program date time of the first segment of every replay. */
export const REPLAY_START = Date.UTC(2026, 0, 1, 0, 0, 0);

/** The entries with an EXT-X-PROGRAM-DATE-TIME before each, from REPLAY_START. */
function withDateTimes(entries) {
  let t = REPLAY_START;
  return entries.map(([extinf, uri]) => {
    const tag = `#EXT-X-PROGRAM-DATE-TIME:${new Date(t).toISOString()}`;
    t += Math.round(Number(/#EXTINF:([0-9.]+)/.exec(extinf)?.[1] ?? 0) * 1000);
    return [tag, extinf, uri];
  });
}

/** PUTs the recording to `input` ({ url, username, password } from the channel's inputs). */
export async function replay(recording, input) {
  const auth = { authorization: basicAuth(input.username, input.password) };
  const put = async (path, body) => {
    const res = await fetch(input.url + path, { method: 'PUT', headers: auth, body });
    await res.arrayBuffer();
    assert.ok(res.status >= 200 && res.status < 300, `PUT ${input.url}${path} -> ${res.status}`);
  };
  const count = Math.min(...recording.renditions.map((r) => r.segments.length));
  for (let i = 0; i < count; i++) {
    for (const r of recording.renditions) {
      await put(`${r.path}/${r.playlist.entries[i][1]}`, r.segments[i]);
      const lines = [...r.playlist.header, ...withDateTimes(r.playlist.entries.slice(0, i + 1)).flat(), ''];
      await put(`${r.path}/index.m3u8`, lines.join('\n'));
    }
    if (i === 0) await put('master.m3u8', recording.master);
  }
  return count;
}
