// Players for the first-arrival suite: hls.js, Shaka and dash.js at their default live settings
// in headless Chromium (lib/browser.js), left running while encoders are killed, with a fine
// stall meter in the page. The meter only records; lib/first-arrival-stalls.js computes the
// stalls from the samples afterwards, so the rules are in one place and can be reread from
// the JSON artifact.
import { launchChromium } from './browser.js';
import { parseMedia } from './m3u8.js';

/** The page samples currentTime this often (ms). */
export const SAMPLE_MS = 50;
/** Media playlists (HLS) and MPDs kept per session, newest first out. */
const MAX_MANIFESTS = 3000;
const SEGMENT_RE = /\.(ts|m4s|mp4|m4a|m4v|cmfv|cmfa)(\?|$)/;

/**
 * Installed in the page right after the player starts. Every `sampleMs`: [wall ms, currentTime,
 * paused, readyState, playbackRate]; media element events with their wall time; presented video
 * frames through requestVideoFrameCallback (gaps over 100 ms listed); once a second the
 * player's own distance to the live edge (hls.js `latency`, Shaka `getStats().liveLatency`,
 * dash.js `getCurrentLiveLatency()`). Wall time is performance.timeOrigin + performance.now(), which
 * the test compares with Date.now() in Node (same machine clock).
 */
function installMeter({ sampleMs, player }) {
  const video = document.getElementById('video');
  const wall = () => Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
  const m = { samples: [], events: [], frameGaps: [], presented: 0, lastFrameWall: null, edge: [] };
  window.faMeter = m;
  setInterval(() => {
    m.samples.push([wall(), video.currentTime, video.paused ? 1 : 0, video.readyState, video.playbackRate]);
  }, sampleMs);
  for (const ev of ['waiting', 'playing', 'stalled', 'seeking', 'seeked', 'ratechange', 'pause', 'ended']) {
    video.addEventListener(ev, () => m.events.push([wall(), ev, video.currentTime]));
  }
  if (video.requestVideoFrameCallback) {
    const onFrame = () => {
      const w = wall();
      if (m.lastFrameWall !== null && w - m.lastFrameWall > 100) m.frameGaps.push([m.lastFrameWall, Math.round(w - m.lastFrameWall)]);
      m.lastFrameWall = w;
      m.presented++;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  setInterval(() => {
    const p = window.player;
    let d = null;
    try {
      if (player === 'hls.js') d = p.latency;
      // Shaka's seekRange ends at the live edge minus its presentation delay; its stats say
      // how far the playhead is from the edge itself.
      else if (player === 'shaka') d = p.getStats().liveLatency;
      else if (player === 'dash.js') d = p.getCurrentLiveLatency();
    } catch (e) {
      d = null;
    }
    if (Number.isFinite(d) && d > 0) m.edge.push([wall(), d]);
  }, 1000);
}

/** Starts Chromium and the page server. Returns { open, close }. */
export async function startMeteredBrowser() {
  const chromium = await launchChromium();

  /**
   * Opens `player` on `url` and leaves it running. The session records every segment URL the
   * player requested (`segmentRequests`) and every media playlist / MPD it received
   * (`manifests`: { wallMs, url, text }). `state()` is the page's playerState() (player-page.js);
   * `meter()` copies the meter's records out of the page.
   */
  async function open({ player, url }) {
    const { page, context, consoleLines, httpErrors } = await chromium.newPage();
    const segmentRequests = new Set();
    const manifests = [];
    page.on('request', (r) => {
      if (SEGMENT_RE.test(new URL(r.url()).pathname)) segmentRequests.add(r.url());
    });
    page.on('response', (r) => {
      const u = r.url();
      if (r.status() < 400 && (/\/media\.m3u8(\?|$)/.test(u) || /\.mpd(\?|$)/.test(u))) {
        const wallMs = Date.now();
        r.text()
          .then((text) => {
            manifests.push({ wallMs, url: u, text });
            if (manifests.length > MAX_MANIFESTS) manifests.shift();
          })
          .catch(() => {});
      }
    });
    await chromium.startPlayer(page, { player, url });
    await page.evaluate(installMeter, { sampleMs: SAMPLE_MS, player });
    let closed = false;
    let lastState = null;
    let lastMeter = null;

    async function state() {
      if (closed) return lastState;
      const s = await page.evaluate(() => window.playerState());
      lastState = { ...s, player, url, console: consoleLines.slice(-30), httpErrors: httpErrors.slice(-30) };
      return lastState;
    }

    async function meter() {
      if (closed) return lastMeter;
      lastMeter = await page.evaluate(() => {
        const m = window.faMeter;
        return { samples: m.samples.slice(), events: m.events.slice(), frameGaps: m.frameGaps.slice(), presented: m.presented, edge: m.edge.slice() };
      });
      return lastMeter;
    }

    async function close() {
      if (closed) return { state: lastState, meter: lastMeter };
      await state().catch(() => {});
      await meter().catch(() => {});
      closed = true;
      await context.close();
      return { state: lastState, meter: lastMeter };
    }

    /** The HLS media playlists this player received, parsed (for lib/failover-checks.js). */
    function parsedPlaylists() {
      return manifests
        .filter((p) => /\.m3u8(\?|$)/.test(p.url))
        .map((p) => {
          try {
            return { ...p, playlist: parseMedia(p.text) };
          } catch (err) {
            return { ...p, error: err.message };
          }
        });
    }

    return { player, url, state, meter, close, segmentRequests, manifests, parsedPlaylists, httpErrors, consoleLines };
  }

  return { open, close: chromium.close };
}
