// Real players (hls.js, Shaka Player, dash.js from tests/node_modules) in Debian's headless
// Chromium, driven by playwright-core. The page is served from its own 127.0.0.1 port, so every
// media request is cross-origin and needs the origin's CORS headers, as on a real site.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { E2E_DIR, NODE_MODULES } from './paths.js';

export const CHROMIUM = '/usr/bin/chromium';
/** DESIGN.md section 8; playwright adds --headless itself. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];
/** "currentTime advances several seconds" (DESIGN.md section 8). */
export const MIN_ADVANCE_SECONDS = 4;
const POLL_MS = 250;

const FILES = {
  '/player.html': join(E2E_DIR, 'lib', 'player.html'),
  '/page.js': join(E2E_DIR, 'lib', 'player-page.js'),
  '/vendor/hls.js': join(NODE_MODULES, 'hls.js', 'dist', 'hls.min.js'),
  '/vendor/shaka.js': join(NODE_MODULES, 'shaka-player', 'dist', 'shaka-player.compiled.js'),
  '/vendor/dash.js': join(NODE_MODULES, 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js'),
};

async function startPageServer() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/favicon.ico') return res.writeHead(204).end();
    const file = FILES[path];
    if (!file) return res.writeHead(404).end();
    try {
      const body = await readFile(file);
      const type = file.endsWith('.html') ? 'text/html' : 'text/javascript';
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** Starts Chromium and the page server. Returns { play, close }. */
export async function startPlayers() {
  const pages = await startPageServer();
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    await pages.close();
    throw err;
  }

  /**
   * Plays `url` with `player` ('hls.js' | 'shaka' | 'dash.js') until currentTime has advanced
   * `minAdvance` seconds past the first `playing` event, a fatal error, or `timeoutMs`.
   * With `untilEnded`, plays on until the media element reports `ended` instead (VOD), at
   * `rate` times real time. Never throws on playback problems: the result carries the evidence
   * for assertions.
   */
  async function play({
    player, url, headers = {}, minAdvance = MIN_ADVANCE_SECONDS, timeoutMs = 30_000,
    untilEnded = false, rate = 1,
  }) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const consoleLines = [];
    const httpErrors = [];
    const requests = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 400)));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
    page.on('requestfailed', (r) => httpErrors.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) httpErrors.push(`${r.request().method()} ${r.url()} -> ${r.status()}`);
    });
    const t0 = Date.now();
    let state = null;
    let timedOut = false;
    try {
      await page.goto(`${pages.url}/player.html`);
      await page.evaluate((cfg) => window.startPlayer(cfg), { player, url, headers, rate });
      for (;;) {
        state = await page.evaluate(() => window.playerState());
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
    };
  }

  async function close() {
    await browser.close();
    await pages.close();
  }

  return { play, close };
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
