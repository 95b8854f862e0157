// Long-running player sessions for the failover tests. lib/players.js plays until currentTime
// has advanced and then closes the page; a failover test needs players that keep running while
// encoders are killed and restarted, and a stall meter inside the page. Same page, libraries
// and Chromium (lib/browser.js).
import { launchChromium } from './browser.js';
import { parseMedia } from './m3u8.js';

/** The stall meter samples currentTime this often (ms). */
export const SAMPLE_MS = 100;
/** Intervals without progress longer than this are listed individually (ms). */
const STALL_LIST_MS = 500;
/** Playlists recorded per session, newest kept (each a few hundred bytes). */
const MAX_PLAYLISTS = 2000;

/**
 * Installed in the page after the player starts. From the first advance of currentTime on,
 * every SAMPLE_MS it records how long currentTime has not advanced (the page never pauses the
 * video, so any such interval is a stall), jumps backwards, and the longest interval.
 */
function installStallMeter({ sampleMs, listMs }) {
  const video = document.getElementById('video');
  const m = {
    sampleMs,
    samples: 0,
    lastTime: null,
    lastAdvanceWallMs: null,
    longestMs: 0,
    longestAt: null,
    stalls: [],
    backwards: [],
    pausedSamples: 0,
  };
  window.stallMeter = m;
  setInterval(() => {
    const now = Date.now();
    const t = video.currentTime;
    m.samples++;
    if (video.paused) m.pausedSamples++;
    if (m.lastTime === null) {
      if (t > 0 && !video.paused) {
        m.lastTime = t;
        m.lastAdvanceWallMs = now;
      }
      return;
    }
    if (t > m.lastTime) {
      const gap = now - m.lastAdvanceWallMs;
      if (gap > m.longestMs) {
        m.longestMs = gap;
        m.longestAt = { fromWallMs: m.lastAdvanceWallMs, toWallMs: now, currentTime: m.lastTime };
      }
      if (gap > listMs) m.stalls.push({ fromWallMs: m.lastAdvanceWallMs, ms: gap, currentTime: m.lastTime, resumedAt: t });
      m.lastTime = t;
      m.lastAdvanceWallMs = now;
    } else if (t < m.lastTime) {
      m.backwards.push({ wallMs: now, from: m.lastTime, to: t });
      m.lastTime = t;
      m.lastAdvanceWallMs = now;
    }
  }, sampleMs);
}

/** Starts Chromium and the page server. Returns { open, close }. */
export async function startBrowser() {
  const chromium = await launchChromium();

  /**
   * Opens a page playing `url` with `player` ('hls.js' | 'shaka') and leaves it running.
   * Returns a session: state() samples the player and the stall meter; playlists lists every
   * media playlist the player fetched ({ wallMs, url, text }); close() ends the page.
   */
  async function open({ player, url }) {
    const { page, context, consoleLines, httpErrors } = await chromium.newPage();
    const playlists = [];
    page.on('response', (r) => {
      if (r.status() < 400 && /\/media\.m3u8(\?|$)/.test(r.url())) {
        const wallMs = Date.now();
        r.text()
          .then((text) => {
            playlists.push({ wallMs, url: r.url(), text });
            if (playlists.length > MAX_PLAYLISTS) playlists.shift();
          })
          .catch(() => {});
      }
    });
    await chromium.startPlayer(page, { player, url });
    await page.evaluate(installStallMeter, { sampleMs: SAMPLE_MS, listMs: STALL_LIST_MS });
    let closed = false;
    let last = null;

    /** The player's state plus the stall meter; the ongoing interval counts as a stall too. */
    async function state() {
      if (closed) return last;
      const s = await page.evaluate(() => ({ ...window.playerState(), meter: { ...window.stallMeter } }));
      const m = s.meter;
      const ongoingMs = m.lastAdvanceWallMs === null ? 0 : s.nowMs - m.lastAdvanceWallMs;
      last = {
        ...s,
        player,
        url,
        started: s.startCurrentTime !== null,
        ongoingStallMs: ongoingMs,
        longestStallMs: Math.max(m.longestMs, ongoingMs),
        console: consoleLines.slice(-30),
        httpErrors: httpErrors.slice(-30),
      };
      return last;
    }

    async function close() {
      if (closed) return last;
      const s = await state().catch(() => last);
      closed = true;
      await context.close();
      return s;
    }

    return { player, url, state, close, playlists, parsedPlaylists: () => parsePlaylists(playlists) };
  }

  return { open, close: chromium.close };
}

function parsePlaylists(list) {
  const out = [];
  for (const p of list) {
    try {
      out.push({ ...p, playlist: parseMedia(p.text) });
    } catch (err) {
      out.push({ ...p, error: err.message });
    }
  }
  return out;
}

/** A compact description of a session state for assertion messages. */
export function describeState(s) {
  if (!s) return 'no state';
  return JSON.stringify(
    {
      player: s.player,
      currentTime: s.currentTime,
      startCurrentTime: s.startCurrentTime,
      paused: s.paused,
      readyState: s.readyState,
      frames: s.frames,
      droppedFrames: s.droppedFrames,
      buffered: s.buffered,
      longestStallMs: s.longestStallMs,
      ongoingStallMs: s.ongoingStallMs,
      stalls: s.meter?.stalls,
      backwards: s.meter?.backwards,
      fatal: s.fatal,
      warnings: s.warnings,
      events: s.events?.slice(-15),
      httpErrors: s.httpErrors,
      console: s.console?.slice(-15),
    },
    null,
    1,
  );
}
