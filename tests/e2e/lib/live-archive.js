// A channel with recorded live content for the time-shift, harvest and clip suites: the Worker
// in workerd, a group and channel with the given endpoints, and ffmpeg pushing `seconds` of live
// HLS in real time (program date times are arrival times, so the push cannot be faster).
import { join } from 'node:path';
import { startOrigin } from './origin.js';
import { startEncoder, tail } from './encoder.js';
import { createChannel } from './packaging-channel.js';
import { tempDir } from './paths.js';
import { parseMedia, parseMaster } from './m3u8.js';

/**
 * Starts everything and waits for the push to finish. Returns { origin, dir, channel, input,
 * endpoints (name -> endpoint JSON, `url` = manifest URL), pushStartMs, pushEndMs, encoderLog }.
 * `dispose()` stops the origin. Throws with ffmpeg's log tail when the push failed.
 */
export async function startLiveChannel({ group, channel, endpoints, seconds = 40 }) {
  const dir = await tempDir(`live-${group}`);
  const origin = await startOrigin({ dir: join(dir, 'origin') });
  try {
    const created = await createChannel(origin, { group, channel, endpoints });
    const pushStartMs = Date.now();
    const encoder = startEncoder({
      logFile: join(dir, 'ffmpeg.log'),
      base: created.input.url,
      seconds,
      auth: { username: created.input.username, password: created.input.password },
    });
    const { code, signal } = await encoder.done;
    if (code !== 0) throw new Error(`ffmpeg exited ${code ?? signal}:\n${tail(encoder.log())}`);
    return {
      origin,
      dir,
      channel: created.channel,
      input: created.input,
      endpoints: created.endpoints,
      pushStartMs,
      pushEndMs: Date.now(),
      encoderLog: encoder.logFile,
      dispose: () => origin.dispose(),
    };
  } catch (err) {
    await origin.dispose();
    throw err;
  }
}

/**
 * The segments of an HLS media playlist (of an endpoint with `program_date_time_interval`) with
 * their program date times:
 * [{ uri, duration, pdtMs }] (pdtMs carried forward from the last EXT-X-PROGRAM-DATE-TIME).
 */
export async function programDateTimes(playlistUrl) {
  const res = await fetch(playlistUrl);
  if (!res.ok) throw new Error(`GET ${playlistUrl} -> ${res.status}`);
  const text = await res.text();
  const out = [];
  let pdt = null;
  let duration = null;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line && !line.startsWith('#')) {
      out.push({ uri: new URL(line, playlistUrl).href, duration, pdtMs: pdt });
      if (pdt !== null && duration !== null) pdt += Math.round(duration * 1000);
      duration = null;
    }
  }
  if (out.length > 0 && out[0].pdtMs === null) {
    throw new Error(`${playlistUrl} has no EXT-X-PROGRAM-DATE-TIME: give the endpoint program_date_time_interval`);
  }
  return { text, playlist: parseMedia(text), segments: out };
}

/**
 * A window of `seconds` that starts on the program date time of the recording's segment
 * `skip`, read from an EVENT playlist (from the push's start) of `endpoint`, which must write
 * program date times. Returns { start, end } as ISO 8601 strings.
 */
export async function recordedWindow(live, endpoint, { seconds = 20, skip = 2 } = {}) {
  const masterUrl = `${live.endpoints[endpoint].url}?start=${new Date(live.pushStartMs).toISOString()}`;
  const res = await fetch(masterUrl);
  if (!res.ok) throw new Error(`GET ${masterUrl} -> ${res.status}`);
  const [first] = parseMaster(await res.text()).variants;
  if (!first) throw new Error(`${masterUrl} lists no variant`);
  const { segments } = await programDateTimes(new URL(first.uri, masterUrl).href);
  const needed = skip + Math.ceil(seconds / 2) + 2;
  if (segments.length < needed) {
    throw new Error(`the recording has ${segments.length} segments; the window needs ${needed}`);
  }
  const startMs = segments[skip].pdtMs;
  return { start: new Date(startMs).toISOString(), end: new Date(startMs + seconds * 1000).toISOString() };
}
