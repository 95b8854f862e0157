// Real players (hls.js, Shaka Player, dash.js from tests/node_modules) in headless Chromium
// (lib/browser.js), played until currentTime has advanced or a VOD has ended.
import assert from 'node:assert/strict';
import { launchChromium } from './browser.js';

/** "currentTime advances several seconds" (docs/testing.md, "End-to-end suites"). */
export const MIN_ADVANCE_SECONDS = 4;
const POLL_MS = 250;

/** Starts Chromium and the page server (lib/browser.js). Returns { play, close }. */
export async function startPlayers() {
  const chromium = await launchChromium();

  /**
   * Plays `url` with `player` ('hls.js' | 'shaka' | 'dash.js' | 'mpegts.js', HTTP-FLV |
   * 'video', the browser's own `<video src>` for a progressive MP4) until currentTime has advanced
   * `minAdvance` seconds past the first `playing` event, a fatal error, or `timeoutMs`.
   * With `untilEnded`, plays on until the media element reports `ended` instead (VOD), at
   * `rate` times real time. `observe(page)`, if given, is called before the page loads; the
   * fields of the object it returns are added to the result (e.g. a list it fills from page
   * events). `playerConfig` is passed to the player as its own configuration (player-page.js);
   * `sample(state)`, if given, is called with every polled state (each carries `liveLatency`).
   * Never throws on playback problems: the result carries the evidence for assertions.
   */
  async function play({
    player, url, headers = {}, minAdvance = MIN_ADVANCE_SECONDS, timeoutMs = 30_000,
    untilEnded = false, rate = 1, observe = () => ({}), playerConfig = undefined, sample = () => {},
  }) {
    const { page, context, consoleLines, httpErrors } = await chromium.newPage();
    const requests = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
    const observed = observe(page);
    const t0 = Date.now();
    let state = null;
    let timedOut = false;
    try {
      await chromium.startPlayer(page, { player, url, headers, rate, playerConfig });
      for (;;) {
        state = await page.evaluate(() => window.playerState());
        sample(state);
        const advanced = state.startCurrentTime === null ? 0 : state.currentTime - state.startCurrentTime;
        const done = untilEnded ? state.ended : advanced >= minAdvance;
        if (state.fatal.length > 0 || done) break;
        if (Date.now() - t0 > timeoutMs) {
          timedOut = true;
          break;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      await context.close();
    }
    const advanced = state?.startCurrentTime == null ? 0 : state.currentTime - state.startCurrentTime;
    return {
      player,
      url,
      advanced,
      timedOut,
      elapsedMs: Date.now() - t0,
      playingWallMs: state?.startWallMs ? state.nowMs - state.startWallMs : 0,
      ...state,
      console: consoleLines.slice(-30),
      httpErrors,
      requests: requests.slice(-40),
      ...observed,
    };
  }

  return { play, close: chromium.close };
}

/** One line about a play() result, for a test's diagnostics. */
export function playDiagnostic(r) {
  return `currentTime ${r.startCurrentTime?.toFixed(2)} -> ${r.currentTime?.toFixed(2)} (+${r.advanced.toFixed(2)} s), ${r.frames} frames decoded, ${r.videoWidth}x${r.videoHeight}, ${r.elapsedMs} ms, non-fatal: ${JSON.stringify(r.warnings)}`;
}

/** Asserts that a play() result played: no fatal error, currentTime advanced, frames decoded. */
export function assertPlayed(r) {
  assert.deepEqual(r.fatal, [], `fatal player errors\n${summary(r)}`);
  assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `currentTime advanced ${r.advanced} s < ${MIN_ADVANCE_SECONDS}\n${summary(r)}`);
  assert.ok(r.frames > 0, `decoded frames ${r.frames}\n${summary(r)}`);
}

/** A compact description of a play() result for assertion messages. */
export function summary(r) {
  const { player, url, advanced, timedOut, elapsedMs, currentTime, startCurrentTime, frames, droppedFrames, duration, ended } = r;
  return JSON.stringify(
    {
      player, url, advanced, timedOut, elapsedMs, currentTime, startCurrentTime, frames, droppedFrames, duration, ended,
      videoSize: `${r.videoWidth}x${r.videoHeight}`, buffered: r.buffered, fatal: r.fatal,
      warnings: r.warnings, events: r.events, httpErrors: r.httpErrors, console: r.console,
      requests: r.requests,
    },
    null,
    1,
  );
}
