// The one live recording the time-shift suites in this folder (hls.js, dash.js, clip.js,
// harvest.js) read: the Worker in workerd, one channel with every endpoint they need, and
// ffmpeg pushing 40 s of live HLS once, in real time (program date times are arrival times, so
// the push cannot be faster). Each suite reads the same 20 s window of it. The first suite that
// asks starts it; the origin and the players stop after the last test of the process.
// ../timeshift.test.js runs the four suites on it; `node --test e2e/timeshift/clip.js` runs one.
import { after } from 'node:test';
import { startLiveChannel, recordedWindow } from '../lib/live-archive.js';
import { startPlayers } from '../lib/players.js';
import { trackedTests } from '../lib/run.js';

const tests = trackedTests();
/** `it` and `before` for the suites: a failure in any keeps the recording's directory. */
export const { it, before } = tests;

export const GROUP = 'tsh';
export const CHANNEL = 'ch';
/** Seconds of live push. */
const PUSH_SECONDS = 40;
/** The window every suite reads (seconds). */
export const WINDOW_S = 20;
/**
 * Every suite's endpoints on one channel. Shaka stalls ~0.2 s before the end of a TS VOD
 * playlist that starts mid-stream and carries EXT-X-PROGRAM-DATE-TIME (reproduced with
 * ffmpeg's own files): the played TS endpoint `hls` has none; `pdt` gives the program date
 * times to choose the window from. `plain` has no time-shift (harvest refuses it).
 */
const ENDPOINTS = [
  { name: 'hls', time_shift_days: 1 },
  { name: 'pdt', time_shift_days: 1, program_date_time_interval: 2 },
  { name: 'cmaf', protocol: 'HLS_CMAF', time_shift_days: 1 },
  { name: 'dash', protocol: 'DASH', time_shift_days: 1 },
  { name: 'plain' },
];

let recording = null;
let players = null;

/**
 * The recording, started on the first call: { live (lib/live-archive.js startLiveChannel),
 * window: { start, end }, players }: `window` is a WINDOW_S window that starts 4 s into the
 * recording on a segment's program date time (the recording's segments are those of an EVENT
 * playlist from the push's start); `players` (lib/players.js, started on the first call that
 * asks for them) is null unless asked for.
 */
export async function recorded({ players: withPlayers = false } = {}) {
  recording ??= (async () => {
    const live = await startLiveChannel({ group: GROUP, channel: CHANNEL, endpoints: ENDPOINTS, seconds: PUSH_SECONDS });
    try {
      return { live, window: await recordedWindow(live, 'pdt', { seconds: WINDOW_S }) };
    } catch (err) {
      await live.dispose();
      throw err;
    }
  })();
  const { live, window } = await recording;
  if (withPlayers) players ??= startPlayers();
  return { live, window, players: withPlayers ? await players : null };
}

after(async () => {
  await (await players?.catch(() => null))?.close();
  const { live } = (await recording?.catch(() => null)) ?? {};
  await live?.dispose();
  await tests.cleanup(live?.dir);
});
