// Real players (lib/player.html + lib/player-page.js, unchanged) in headless Chromium, with
// every request the page makes recorded in full (URL, request headers, response status), so a
// test can check what a player sent on each URL: a signed token, an authorization header.
// lib/players.js keeps only the last 40 requests; access checks need all of them.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, MIN_ADVANCE_SECONDS } from './players.js';
import { E2E_DIR, NODE_MODULES } from './paths.js';

/** DESIGN.md section 8 (playwright adds --headless itself). */
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
    const type = file.endsWith('.html') ? 'text/html' : 'text/javascript';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(await readFile(file));
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

/** Starts Chromium and the page server. Returns { pageUrl, play, close }. */
export async function startRecordingPlayers() {
  const pages = await startPageServer();
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    await pages.close();
    throw err;
  }

  /**
   * Plays `url` until currentTime advanced `minAdvance` s, a fatal error or `timeoutMs`.
   * `exchanges` lists every request to `originPrefix`: { method, url, headers, status }
   * (status null when no response came).
   */
  async function play({ player, url, headers = {}, originPrefix, minAdvance = MIN_ADVANCE_SECONDS, timeoutMs = 30_000 }) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const exchanges = [];
    const byRequest = new Map();
    page.on('request', (r) => {
      if (!r.url().startsWith(originPrefix)) return;
      const x = { method: r.method(), url: r.url(), headers: r.headers(), status: null };
      byRequest.set(r, x);
      exchanges.push(x);
    });
    page.on('response', async (r) => {
      const x = byRequest.get(r.request());
      if (!x) return;
      x.status = r.status();
      // headers() leaves out security-related ones; allHeaders() has what was sent.
      x.headers = await r.request().allHeaders().catch(() => x.headers);
    });
    const t0 = Date.now();
    let state = null;
    try {
      await page.goto(`${pages.url}/player.html`);
      await page.evaluate((cfg) => window.startPlayer(cfg), { player, url, headers });
      for (;;) {
        state = await page.evaluate(() => window.playerState());
        const advanced = state.startCurrentTime === null ? 0 : state.currentTime - state.startCurrentTime;
        if (state.fatal.length > 0 || advanced >= minAdvance || Date.now() - t0 > timeoutMs) break;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    } finally {
      await context.close();
    }
    const advanced = state?.startCurrentTime == null ? 0 : state.currentTime - state.startCurrentTime;
    return { player, url, advanced, elapsedMs: Date.now() - t0, ...state, exchanges };
  }

  async function close() {
    await browser.close();
    await pages.close();
  }

  return { pageUrl: pages.url, play, close };
}

/** A compact description of a play() result for assertion messages. */
export function describePlay(r) {
  const { player, url, advanced, elapsedMs, frames, fatal, warnings, events } = r;
  const exchanges = r.exchanges.map((x) => `${x.method} ${x.url} -> ${x.status}`);
  return JSON.stringify({ player, url, advanced, elapsedMs, frames, fatal, warnings, events, exchanges: exchanges.slice(-60) }, null, 1);
}
