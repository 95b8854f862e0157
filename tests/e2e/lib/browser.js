// Debian's headless Chromium, driven by playwright-core, with the player page (player.html,
// player-page.js) and the player libraries from tests/node_modules served from their own
// 127.0.0.1 port: every media request is cross-origin and needs the origin's CORS headers, as
// on a real site. lib/players.js, lib/access-players.js and lib/failover-player.js open their
// pages in it.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { E2E_DIR, NODE_MODULES } from './paths.js';

/** The Chromium binary: env CHROMIUM, else Debian's. */
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** docs/testing.md, "End-to-end suites"; playwright adds --headless itself. */
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

const FILES = {
  '/player.html': join(E2E_DIR, 'lib', 'player.html'),
  '/page.js': join(E2E_DIR, 'lib', 'player-page.js'),
  '/vendor/hls.js': join(NODE_MODULES, 'hls.js', 'dist', 'hls.min.js'),
  '/vendor/shaka.js': join(NODE_MODULES, 'shaka-player', 'dist', 'shaka-player.compiled.js'),
  '/vendor/dash.js': join(NODE_MODULES, 'dashjs', 'dist', 'modern', 'umd', 'dash.all.min.js'),
  '/vendor/mpegts.js': join(NODE_MODULES, 'mpegts.js', 'dist', 'mpegts.js'),
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

/**
 * Starts the page server and Chromium. Returns { pageUrl, newPage, startPlayer, close }:
 * `newPage(contextOptions)` opens a page in a fresh browser context (playwright's
 * `newContext` options, e.g. `userAgent`) and returns { page, context,
 * consoleLines, httpErrors }, the last two filled as the page logs and as requests fail or get
 * an HTTP error; `startPlayer(page, cfg)` loads the player page in it and starts a player.
 */
export async function launchChromium() {
  const pages = await startPageServer();
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (err) {
    await pages.close();
    throw new Error(`Chromium did not start (${CHROMIUM}; set CHROMIUM to another binary): ${err.message}`, { cause: err });
  }

  async function newPage(contextOptions = {}) {
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    const consoleLines = [];
    const httpErrors = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`.slice(0, 400)));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message} ${(e.stack || '').split('\n').slice(1, 4).join(' < ')}`));
    page.on('requestfailed', (r) => httpErrors.push(`${r.method()} ${r.url()} failed: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) httpErrors.push(`${r.request().method()} ${r.url()} -> ${r.status()}`);
    });
    return { page, context, consoleLines, httpErrors };
  }

  /**
   * Loads the player page and starts `cfg.player` ('hls.js' | 'shaka' | 'dash.js') on
   * `cfg.url` (with `cfg.headers`, at `cfg.rate`); see window.startPlayer in player-page.js.
   */
  async function startPlayer(page, cfg) {
    await page.goto(`${pages.url}/player.html`);
    await page.evaluate((c) => window.startPlayer(c), cfg);
  }

  async function close() {
    await browser.close();
    await pages.close();
  }

  return { pageUrl: pages.url, newPage, startPlayer, close };
}
