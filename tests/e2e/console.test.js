// The operator console (issue 16) on the real runtime: the built Worker in workerd serving
// /console/, Debian's headless Chromium driving it like an operator (keyboard sign-in, forms,
// copy buttons, the rotation dialog), Debian's ffmpeg pushing to the ingest URL copied from the
// page, and the preview page playing each endpoint type with its own player (hls.js, dash.js,
// mpegts.js) until decoded frames grow, then the statistics page charting that playback (the
// Worker runs with `STATS = "memory"`, as in `make dev`). Screenshots of every page go to
// EDGEPACK_SCREENSHOTS (default: a temporary directory, printed).
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, show } from './lib/api.js';
import { launchChromium } from './lib/browser.js';
import { basicAuth, startEncoder, tail } from './lib/encoder.js';
import { startOrigin } from './lib/origin.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { sleep, waitFor } from './lib/wait.js';

const tests = trackedTests();
const { it } = tests;

/** Longer than the suite needs; stopped when the tests are done. */
const PUSH_SECONDS = 150;
/** Failover timeout of the channel: short, so the status page turns healthy quickly. */
const MAX_SEGMENT_DURATION = 6;
const NAMES = { group: 'console-group', channel: 'console-channel' };
const ENDPOINTS = [
  { name: 'hls', protocol: 'HLS' },
  { name: 'cmaf', protocol: 'HLS_CMAF' },
  { name: 'dash', protocol: 'DASH' },
  { name: 'flv', protocol: 'FLV' },
];
/** The push runs this long before the preview plays 20 s behind live. */
const OFFSET_READY_MS = 36_000;
/** Decoded frames must grow by at least this much while the preview plays. */
const FRAMES_GROWTH = 30;
const SHOTS = process.env.EDGEPACK_SCREENSHOTS || join(tmpdir(), 'edgepack-console-screenshots');

describe('Console: an operator in Chromium runs a channel on the Worker', { timeout: 240_000 }, () => {
  const suite = originSuite(tests, 'console', {
    start: (opts) => startOrigin({ ...opts, bindings: { STATS: 'memory' } }),
    players: launchChromium,
    stop: async (ctx) => ctx.context?.close(),
  });
  const { ctx, need } = suite;
  const base = () => `${suite.origin.url}/console/`;
  const hash = (...parts) => `${base()}#/${parts.map(encodeURIComponent).join('/')}`;
  const page = () => need('page');

  async function shot(name) {
    mkdirSync(SHOTS, { recursive: true });
    await page().screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** Goes to a console route and waits for its heading. */
  async function open(url, heading) {
    await page().goto(url);
    await page().getByRole('heading', { level: 1, name: heading }).waitFor();
  }

  it('signs in with the admin token from the form (Enter submits); a wrong token is refused', async () => {
    const { context, page: p, consoleLines, httpErrors } = await suite.players.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.origin.url });
    await p.setViewportSize({ width: 1280, height: 860 });
    ctx.context = context;
    ctx.page = p;
    ctx.consoleLines = consoleLines;
    ctx.httpErrors = httpErrors;
    ctx.urls = [];
    p.on('request', (r) => ctx.urls.push(r.url()));
    const r = await p.goto(base());
    assert.equal(r.status(), 200);
    assert.match(r.headers()['content-security-policy'], /script-src 'self'/);
    await p.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('sign-in');
    await p.getByLabel('Admin token').fill('not-the-token');
    await p.keyboard.press('Enter');
    await p.getByText('That token is not accepted.').waitFor();
    await p.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: 'Channel groups' }).waitFor();
    const stored = await p.evaluate(() => ({ session: { ...sessionStorage }, local: localStorage.length, cookie: document.cookie }));
    assert.deepEqual(Object.values(stored.session), [ADMIN_TOKEN]);
    assert.equal(stored.local, 0);
    assert.equal(stored.cookie, '');
  });

  it('creates a group with a CDN playback domain and a channel', async () => {
    const p = page();
    // The CDN domain of the group: here the origin itself under its other name.
    const cdn = suite.origin.url.replace('127.0.0.1', 'localhost');
    await p.getByLabel('Name', { exact: true }).fill(NAMES.group);
    await p.getByLabel('CDN playback domain').fill(cdn);
    await p.getByRole('button', { name: 'Create group' }).click();
    await p.getByRole('heading', { name: `Group ${NAMES.group}` }).waitFor();
    await p.getByLabel('Name', { exact: true }).fill(NAMES.channel);
    await p.getByLabel('Max segment duration (s)').fill(String(MAX_SEGMENT_DURATION));
    await p.getByRole('button', { name: 'Create channel' }).click();
    await p.getByRole('heading', { name: `Channel ${NAMES.group}/${NAMES.channel}` }).waitFor();
    ctx.cdn = cdn;
  });

  it('shows an API validation error at the field, then creates one endpoint of each type', async () => {
    const p = page();
    for (const [i, e] of ENDPOINTS.entries()) {
      await open(hash('g', NAMES.group, 'c', NAMES.channel, 'e', 'new'), `New endpoint in ${NAMES.group}/${NAMES.channel}`);
      await p.getByLabel('Name', { exact: true }).fill(e.name);
      await p.getByLabel('Protocol', { exact: true }).selectOption(e.protocol);
      if (i === 0) {
        await p.getByLabel('Playlist segments').fill('1');
        await p.getByLabel('Time-shift (days)').fill('1');
        await p.getByRole('button', { name: 'Create endpoint' }).click();
        const box = p.locator('[data-field="segment_count"]');
        await box.locator('.field-error').filter({ hasText: '2 to 100' }).waitFor();
        assert.equal(await box.locator('input').getAttribute('aria-invalid'), 'true');
        // The field with the error has the focus.
        assert.equal(await p.evaluate(() => document.activeElement?.id), 'f-segment_count');
        await shot('endpoint-validation-error');
        await p.getByLabel('Playlist segments').fill('6');
      }
      await p.getByRole('button', { name: 'Create endpoint' }).click();
      await p.getByRole('heading', { name: `Endpoint ${NAMES.group}/${NAMES.channel}/${e.name}` }).waitFor();
      const url = await p.locator('#playback-url').textContent();
      assert.ok(url.startsWith(`${ctx.cdn}/out/v1/${NAMES.group}/${NAMES.channel}/${e.name}/manifest.`), url);
      if (i === 0) await shot('endpoint');
    }
  });

  it('copies the ingest URL and reveals the credentials; ffmpeg pushes with them', async () => {
    const p = page();
    await open(hash('g', NAMES.group, 'c', NAMES.channel), `Channel ${NAMES.group}/${NAMES.channel}`);
    const card = p.locator('[data-input="1"]');
    await card.getByRole('button', { name: 'Copy ingest URL' }).click();
    await p.getByText('ingest URL copied').waitFor();
    const url = await p.evaluate(() => navigator.clipboard.readText());
    assert.equal(url, `${suite.origin.url}/in/v1/${NAMES.group}/${NAMES.channel}/1/`);
    assert.equal(await card.locator('code.secret').textContent(), '••••••••');
    await card.getByRole('button', { name: 'Reveal' }).click();
    const password = await card.locator('code.secret').textContent();
    assert.match(password, /^[A-Za-z0-9]{32}$/);
    const username = await card.locator('dd').nth(1).locator('code').textContent();
    await card.getByRole('button', { name: 'Hide' }).click();
    await shot('channel');
    ctx.input = { url, username, password };
    ctx.pushStartedMs = Date.now();
    ctx.encoder = startEncoder({
      base: url,
      seconds: PUSH_SECONDS,
      auth: { username, password },
      logFile: join(suite.dir, 'ffmpeg.log'),
    });
  });

  it('the live status page turns input 1 healthy, with bitrates and the switch timeline', async () => {
    const p = page();
    await open(hash('g', NAMES.group, 'c', NAMES.channel, 'status'), `Live status ${NAMES.group}/${NAMES.channel}`);
    await p.locator('[data-input="1"][data-health="healthy"]').waitFor({ timeout: 60_000 })
      .catch((err) => assert.fail(`${err.message}\n${tail(ctx.encoder.log(), 12)}`));
    // The status refreshes itself; wait for the first measured bitrate and a switch record.
    await p.locator('[data-input="1"] td').filter({ hasText: /kbit\/s|Mbit\/s/ }).first().waitFor({ timeout: 30_000 });
    await p.locator('ol.timeline li').first().waitFor();
    assert.match(await p.locator('p.active').textContent(), /Active input: 1/);
    await shot('status');
  });

  it('the preview plays each endpoint type with its player (decoded frames grow), time-shift included', async (t) => {
    const p = page();
    // Enough content for the players' live edge.
    await sleep(4000);
    for (const e of ENDPOINTS) {
      await open(hash('g', NAMES.group, 'c', NAMES.channel, 'e', e.name, 'preview'), `Preview ${NAMES.group}/${NAMES.channel}/${e.name}`);
      const first = await framesAtLeast(p, 1, e.name);
      const grown = await framesAtLeast(p, first + FRAMES_GROWTH, e.name);
      t.diagnostic(`${e.protocol}: ${first} -> ${grown} frames`);
      if (e.protocol === 'HLS') await shot('preview');
    }
    // Time-shift: 20 s behind live on the HLS endpoint, picked on the timeline, once the push
    // has produced more than that (an offset before the first segment is a 404).
    await sleep(Math.max(0, need('pushStartedMs') + OFFSET_READY_MS - Date.now()));
    await open(hash('g', NAMES.group, 'c', NAMES.channel, 'e', 'hls', 'preview'), `Preview ${NAMES.group}/${NAMES.channel}/hls`);
    await framesAtLeast(p, 1, 'hls live');
    await p.getByLabel('Start', { exact: true }).selectOption('offset');
    await p.locator('#position').fill('20');
    assert.match(await p.locator('#position-label').textContent(), /20 s behind live/);
    await p.getByRole('button', { name: 'Play' }).click();
    await p.locator('#preview-url').filter({ hasText: 'offset=20' }).waitFor();
    await framesAtLeast(p, FRAMES_GROWTH, 'hls offset=20', ctx.httpErrors);
  });

  it('the statistics page charts that playback: non-zero figures, keyboard readout', async () => {
    const p = page();
    await open(hash('g', NAMES.group, 'c', NAMES.channel, 'stats'), `Statistics ${NAMES.group}/${NAMES.channel}`);
    await p.getByLabel('Endpoint', { exact: true }).selectOption('hls');
    await p.locator('#endpoint-stats h2').filter({ hasText: 'Endpoint hls' }).waitFor();
    const figure = async (id) => Number((await p.locator(id).textContent()).replace(/\D.*$/, ''));
    for (const id of ['#total-requests', '#total-peak', '#total-unique']) {
      assert.ok((await figure(id)) > 0, `${id}: ${await p.locator(id).textContent()}`);
    }
    assert.match(await p.locator('#total-bytes').textContent(), /[kMG]B$/);
    // Every chart has a drawn line with a value above zero (its description names the largest).
    for (const chart of ['requests', 'bytes', 'viewers', 'ingest']) {
      const c = p.locator(`[data-chart="${chart}"]`);
      const desc = await c.locator('desc').textContent();
      assert.match(desc, /at most [1-9]/, `${chart}: ${desc}`);
      assert.ok((await c.locator('path.line').first().getAttribute('d')).includes('L'), chart);
      assert.equal(await c.locator('svg').getAttribute('role'), 'img');
    }
    assert.ok((await p.locator('[data-chart="ingest"] ul.legend li').count()) >= 3, 'a line per rendition');
    const session = p.locator('#sessions tbody tr').first();
    assert.match(await session.textContent(), /\(live\)/);
    // The keyboard moves a cursor over the buckets and the readout tells the figures.
    await p.locator('[data-chart="bytes"] svg').focus();
    await p.keyboard.press('ArrowLeft');
    assert.match(await p.locator('[data-chart="bytes"] .readout').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: bytes /);
    await shot('stats');
  });

  it('starts a harvest job of a past window and follows its progress to the end', async () => {
    const p = page();
    await open(hash('g', NAMES.group, 'c', NAMES.channel, 'harvest'), `Harvest jobs ${NAMES.group}/${NAMES.channel}`);
    const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const start = need('pushStartedMs') + 8_000;
    const end = Date.now() - 6_000;
    assert.ok(end - start >= 8_000, `a window of ${end - start} ms`);
    await p.getByLabel('Start (UTC)').fill(iso(start));
    await p.getByLabel('End (UTC)').fill(iso(end));
    await p.getByRole('button', { name: 'Start harvest job' }).click();
    // The page polls the job (each GET advances it) until the copy is done.
    const row = p.locator('#jobs tr').filter({ hasText: 'SUCCEEDED' });
    await row.waitFor({ timeout: 60_000 });
    const bar = row.locator('progress');
    assert.equal(await bar.getAttribute('value'), await bar.getAttribute('max'));
    const asset = await row.locator('code.url').textContent();
    assert.match(asset, /\/vod\/v1\/.+\/manifest\.m3u8$/);
    await shot('harvest');
  });

  it('rotates credentials after a confirmation (keyboard); the old ones are refused at once', async () => {
    const p = page();
    const old = need('input');
    await open(hash('g', NAMES.group, 'c', NAMES.channel), `Channel ${NAMES.group}/${NAMES.channel}`);
    const card = p.locator('[data-input="1"]');
    await card.getByRole('button', { name: 'Rotate credentials' }).click();
    const dialog = p.getByRole('dialog');
    await dialog.waitFor();
    await shot('rotate-dialog');
    // Escape cancels; nothing changes.
    await p.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await card.getByRole('button', { name: 'Rotate credentials' }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Rotate' }).focus();
    await p.keyboard.press('Enter');
    await p.getByText('Input 1: new credentials').waitFor();
    await card.getByRole('button', { name: 'Reveal' }).click();
    const password = await card.locator('code.secret').textContent();
    const username = await card.locator('dd').nth(1).locator('code').textContent();
    assert.notEqual(password, old.password);
    const put = (auth) => fetch(`${old.url}probe/index.m3u8`, {
      method: 'PUT',
      headers: { authorization: basicAuth(auth.username, auth.password) },
      body: '#EXTM3U\n',
    });
    const refused = await put(old);
    assert.equal(refused.status, 401);
    const accepted = await put({ username, password });
    assert.notEqual(accepted.status, 401);
    ctx.encoder.stop();
  });

  it('signs a playback URL with a signing key set in the form', async () => {
    const p = page();
    await open(hash('g', NAMES.group, 'c', NAMES.channel, 'e', 'hls'), `Endpoint ${NAMES.group}/${NAMES.channel}/hls`);
    await p.getByLabel('Signing keys').fill('k1:0123456789abcdef0123');
    await p.getByRole('button', { name: 'Save endpoint' }).click();
    await p.getByText('Endpoint saved').waitFor();
    await p.getByRole('button', { name: 'Sign URL' }).click();
    const signed = await p.locator('#signed-url').filter({ hasText: 'token=' }).textContent();
    assert.ok(signed.startsWith(`${ctx.cdn}/out/v1/`), signed);
    // The same origin by its address (node's fetch and the CDN name are not the point here).
    const url = signed.split(' ')[0].replace(ctx.cdn, suite.origin.url);
    assert.equal((await fetch(url)).status, 200);
    assert.equal((await fetch(url.split('?')[0])).status, 403);
  });

  it('is readable on a narrow window: no page scrolls sideways', async () => {
    const p = page();
    await p.setViewportSize({ width: 360, height: 740 });
    for (const [url, heading] of [
      [hash(), 'Channel groups'],
      [hash('g', NAMES.group, 'c', NAMES.channel), `Channel ${NAMES.group}/${NAMES.channel}`],
      [hash('g', NAMES.group, 'c', NAMES.channel, 'e', 'dash'), `Endpoint ${NAMES.group}/${NAMES.channel}/dash`],
      [hash('g', NAMES.group, 'c', NAMES.channel, 'stats'), `Statistics ${NAMES.group}/${NAMES.channel}`],
    ]) {
      await open(url, heading);
      const { scroll, width } = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: innerWidth }));
      assert.ok(scroll <= width, `${heading}: ${scroll} px wide in a ${width} px window`);
    }
    await shot('narrow-endpoint');
    await p.setViewportSize({ width: 1280, height: 860 });
  });

  it('deletes everything from the console; no secret ever went into a URL', async () => {
    const p = page();
    const confirm = async (button, label) => {
      await p.getByRole('button', { name: button }).click();
      await p.getByRole('dialog').getByRole('button', { name: label }).click();
    };
    for (const e of ENDPOINTS) {
      await open(hash('g', NAMES.group, 'c', NAMES.channel, 'e', e.name), `Endpoint ${NAMES.group}/${NAMES.channel}/${e.name}`);
      await confirm('Delete endpoint', 'Delete endpoint');
      await p.getByRole('heading', { name: `Channel ${NAMES.group}/${NAMES.channel}` }).waitFor();
    }
    await confirm('Delete channel', 'Delete channel');
    await p.getByRole('heading', { name: `Group ${NAMES.group}` }).waitFor();
    await confirm('Delete group', 'Delete group');
    await p.getByRole('heading', { name: 'Channel groups' }).waitFor();
    const groups = await suite.origin.api('GET', '/api/v1/groups');
    assert.deepEqual(groups.json.groups.map((g) => g.name), [], show(groups));
    const secrets = [ADMIN_TOKEN, need('input').password];
    const leaked = ctx.urls.filter((u) => secrets.some((s) => u.includes(s)));
    assert.deepEqual(leaked, []);
    const errors = ctx.consoleLines.filter((l) => l.startsWith('pageerror'));
    assert.deepEqual(errors, []);
    process.stderr.write(`console e2e: screenshots in ${SHOTS}\n`);
  });
});

/** Waits until the preview's decoded frame count reaches `n`; returns it. */
async function framesAtLeast(p, n, what, logs = []) {
  let frames = 0;
  await waitFor(`${what}: ${n} decoded frames`, async () => {
    frames = await p.evaluate(() => document.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0);
    return frames >= n;
  }, { timeoutMs: 40_000, intervalMs: 500 }).catch(async (err) => {
    const state = await p.evaluate(() => {
      const v = document.querySelector('video');
      return { url: document.querySelector('#preview-url')?.textContent, currentTime: v?.currentTime, readyState: v?.readyState, error: v?.error?.message, buffered: v ? [...Array(v.buffered.length).keys()].map((i) => [v.buffered.start(i), v.buffered.end(i)]) : [] };
    });
    assert.fail(`${err.message}\n${JSON.stringify(state)}\n${logs.slice(-15).join('\n')}`);
  });
  return frames;
}
