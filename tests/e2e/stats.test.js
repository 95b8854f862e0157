// Statistics on the Worker (docs/stats.md): N real hls.js players in Chromium (N from 1 to 5)
// each play an endpoint of one live channel fed by ffmpeg for a minute, the five groups at the
// same time on five endpoints (15 players; each its own browser context and User-Agent, held
// to the lowest rendition to spare the CPU); each endpoint's stats must report N concurrent
// viewers (within one) in every settled bucket and the bytes its players received (within
// 5 %, beyond the answers a player gave up or could not read, which the origin may have sent
// whole), and the stats routes must refuse requests without the admin token. The Worker runs with
// `STATS = "memory"`, the local backend of `make dev`. A second Worker runs the production
// backend: Analytics Engine's binding (workerd's local one, which accepts and drops points) and
// its SQL API, here a stub on 127.0.0.1 in the API's documented JSON shape that records the
// statements, so the adapter's requests and the reading of answers are checked end to end.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEncoder, RENDITIONS } from './lib/encoder.js';
import { launchChromium } from './lib/browser.js';
import { readMaster, readMedia } from './lib/endpoint.js';
import { channelPaths, show } from './lib/api.js';
import { startOrigin, timelinesOf } from './lib/origin.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { sleep, waitFor } from './lib/wait.js';

const tests = trackedTests();
const { it } = tests;

const NAMES = { group: 'stats-group', channel: 'stats-channel', endpoint: 'stats-n1' };
const P = channelPaths(NAMES);
/** Players per endpoint: endpoint `stats-n{N}` is played by N players. */
const GROUPS = [1, 2, 3, 4, 5];
const endpointOf = (n) => `stats-n${n}`;
const statsOf = (n) => `${P.endpoints}/${endpointOf(n)}/stats`;
const ENDPOINT_STATS = statsOf(1);
const CHANNEL_STATS = `${P.channel}/stats`;
/** "Play an endpoint for a minute". */
const PLAY_S = 60;
/**
 * Ready (~8 s), the players' start (~10 s; 24 s seen on a loaded machine), the minute and a
 * margin: a push that ended before the minute leaves blocking reloads waiting for segments that
 * never come, unread when the players close.
 */
const PUSH_SECONDS = 8 + 30 + PLAY_S + 16;
/** Buckets of the query: a multiple of the 4 s viewer window (two 2 s segments). */
const STEP_S = 8;
/** A player needs a few seconds to start; buckets closer than this to its start are skipped. */
const SETTLE_MS = 8_000;
/** Media seconds each player must advance in the minute (it stalls on a loaded machine). */
const MIN_PLAYED_S = 10;
/** Longer than a blocking playlist reload waits for its segment (2 s segments). */
const QUIESCE_MS = 5_000;
/** "Within 5 % of what the players downloaded". */
const BYTES_TOLERANCE = 0.05;

/** `segment` or `playlist`: what a playback URL names, for the size of an answer not seen. */
function fileKind(url) {
  return /\.(ts|m4s|mp4)$/.test(new URL(url).pathname) ? 'segment' : 'playlist';
}

/**
 * At most how many bytes the origin may have counted for the answers `viewer` did not see:
 * each as large as the largest answer of its kind the viewer did see.
 */
function unseenBytes(viewer) {
  const largest = Math.max(...Object.values(viewer.largest), 0);
  return viewer.unseen.reduce((sum, url) => sum + (viewer.largest[fileKind(url)] ?? largest), 0);
}

/** Milliseconds between a player's first answers of its first and last rendition playlist. */
function firstPlaylistsApartMs(viewer) {
  const firsts = [...viewer.playlists.entries()]
    .filter(([path]) => path.endsWith('/media.m3u8'))
    .map(([, seen]) => Number.parseInt(seen[0], 10));
  return firsts.length > 1 ? Math.max(...firsts) - Math.min(...firsts) : 0;
}

/** A player's state in a line: where it is, what each buffer holds, what hls.js warned of. */
function briefState(s) {
  const sb = (s.sourceBuffered ?? []).map((b) => `${b.type} ${JSON.stringify(b.buffered)}`).join(', ');
  return `at ${s.currentTime.toFixed(3)} s, readyState ${s.readyState}, ${s.frames} frames, buffered ${JSON.stringify(s.buffered)} (${sb}); warnings: ${s.warnings.slice(0, 6).join(' | ')}`;
}

/** The lines of hls.js's log that tell how fragments went into the buffers. */
const FRAGMENT_LOG = /Loading (main|audio) sn|Parsed|Buffered|without buffered|Aligning|hole|stall|nudg/i;

const FRAGMENT_LOG_LINES = 36;

/** hls.js's account of a player's first fragments, a line per event, in ms since its first line. */
function fragmentLog(name, state) {
  const kept = state.log ? [...state.log.first, ...state.log.last] : [];
  const t0 = Number.parseInt(kept[0] ?? '0', 10);
  const lines = kept.filter((l) => FRAGMENT_LOG.test(l)).slice(0, FRAGMENT_LOG_LINES).map((l) => {
    const at = l.indexOf(' ');
    return `+${Number.parseInt(l, 10) - t0} ${l.slice(at + 1, at + 201)}`;
  });
  return `hls.js log of player ${name} (fragments): ${lines.join(' | ') || '(none kept)'}`;
}

/**
 * One hls.js player in its own browser context with its own User-Agent (all players share
 * 127.0.0.1, so the agent is what tells their viewer keys apart), capped to the lowest
 * rendition. Counts the body bytes of every playback answer the page received.
 */
async function startViewer(chromium, name, url) {
  const { page, context } = await chromium.newPage({ userAgent: `edgepack-stats-viewer-${name}` });
  const viewer = { name, bytes: 0, responses: 0, pending: new Set(), errors: [], failed: 0, unseen: [], largest: {}, refused: [], playlists: new Map() };
  // Requests the player gave up before an answer (its timeouts, on a loaded machine) and
  // answers whose body the page could not read: the origin may still have answered them whole
  // and counted their bytes.
  page.on('requestfailed', (r) => {
    if (!r.url().includes('/out/v1/') || viewer.quiescing) return;
    viewer.failed += 1;
    viewer.unseen.push(r.url());
  });
  page.on('response', (r) => {
    if (!r.url().includes('/out/v1/')) return;
    const read = r
      .body()
      .then((b) => {
        // Why the origin refused a request: the answer's own words, for a failure message.
        if (r.status() >= 400) viewer.refused.push(`${r.status()} ${r.url()}: ${b.toString('utf8').slice(0, 200)}`);
        // The first two answers of each playlist and the last, to show what the player saw.
        if (fileKind(r.url()) === 'playlist') {
          const path = new URL(r.url()).pathname;
          const seen = viewer.playlists.get(path) ?? [];
          seen.push(`${Date.now()} ${r.status()} ${r.url()}\n${b.toString('utf8')}`);
          if (seen.length > 3) seen.splice(2, 1);
          viewer.playlists.set(path, seen);
        }
        viewer.bytes += b.length;
        viewer.responses += 1;
        const kind = fileKind(r.url());
        viewer.largest[kind] = Math.max(viewer.largest[kind] ?? 0, b.length);
      })
      .catch((e) => {
        viewer.errors.push(`${r.url()}: ${e.message}`);
        viewer.unseen.push(r.url());
      })
      .finally(() => viewer.pending.delete(read));
    viewer.pending.add(read);
  });
  await chromium.startPlayer(page, { player: 'hls.js', url, playerConfig: { startLevel: 0, lowLatencyMode: false, keepLog: 120 } });
  // hls.js orders levels by bitrate: 0 is the 320x180 rendition; never switch up.
  await page.waitForFunction(() => window.player?.levels?.length > 0, null, { timeout: 20_000 });
  await page.evaluate(() => {
    window.player.autoLevelCapping = 0;
  });
  viewer.state = () => page.evaluate(() => window.playerState());
  // No new playback request leaves the page (they are refused inside the browser, never
  // reaching the origin); those in flight finish and are counted on both sides.
  viewer.quiesce = () => {
    viewer.quiescing = true;
    return page.route('**/out/v1/**', (route) => route.abort());
  };
  viewer.stop = async () => {
    await Promise.allSettled([...viewer.pending]);
    await context.close();
  };
  return viewer;
}

describe('statistics on the Worker', { timeout: 300_000 }, () => {
  const suite = originSuite(tests, 'stats', {
    start: (opts) => startOrigin({ ...opts, bindings: { STATS: 'memory' } }),
    players: launchChromium,
  });
  const { ctx, need } = suite;

  it('the stats routes need the admin token and a valid range', async () => {
    const g = await suite.origin.api('POST', '/api/v1/groups', { name: NAMES.group });
    assert.equal(g.status, 201, show(g));
    const c = await suite.origin.api('POST', `${P.group}/channels`, { name: NAMES.channel });
    assert.equal(c.status, 201, show(c));
    ctx.masterUrls = {};
    for (const n of GROUPS) {
      const e = await suite.origin.api('POST', P.endpoints, { name: endpointOf(n), protocol: 'HLS' });
      assert.equal(e.status, 201, show(e));
      ctx.masterUrls[n] = e.json.url;
    }
    for (const path of [ENDPOINT_STATS, CHANNEL_STATS]) {
      const none = await suite.origin.api('GET', path, undefined, { token: null });
      assert.equal(none.status, 401, show(none));
      const wrong = await suite.origin.api('GET', path, undefined, { token: 'not-the-token' });
      assert.equal(wrong.status, 401, show(wrong));
      const bad = await suite.origin.api('GET', `${path}?step=0`);
      assert.equal(bad.status, 400, show(bad));
      assert.equal(bad.json?.field, 'step', show(bad));
      const ok = await suite.origin.api('GET', path);
      assert.equal(ok.status, 200, show(ok));
    }
    ctx.input = c.json.inputs[0];
  });

  it('N = 1..5 players on five endpoints for a minute: viewers N within one, bytes within 5 %', async () => {
    const input = need('input');
    const masterUrls = need('masterUrls');
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-live.log'),
    });
    const pushMs = Date.now();
    const probeUrl = masterUrls[1];
    await waitFor(`3 segments in every rendition of ${probeUrl}`, async () => {
      const { renditions } = await readMaster(probeUrl);
      if (renditions.length < RENDITIONS.length) return false;
      for (const r of renditions) {
        const media = await readMedia(r.url);
        if (media.playlist.segments.length < 3) return false;
      }
      return true;
    }, { timeoutMs: 45_000 });

    // The readiness polls above are playback requests too (from another User-Agent, on
    // endpoint 1): start the range clear of them.
    await sleep(2_000);
    const wallStart = Date.now();
    const viewers = await Promise.all(GROUPS.flatMap((n) =>
      Array.from({ length: n }, (_, i) => startViewer(suite.players, `${n}-${i + 1}`, masterUrls[n]).then((v) => Object.assign(v, { group: n })))));
    const startMs = Date.now();
    await sleep(PLAY_S * 1000);
    const states = await Promise.all(viewers.map((v) => v.state()));
    const endMs = Date.now();
    // The players' byte counts and the origin's must cover the same requests: stop new ones,
    // let those in flight (blocking playlist reloads, segments) finish, then close.
    await Promise.all(viewers.map((v) => v.quiesce()));
    await sleep(QUIESCE_MS);
    await Promise.all(viewers.map((v) => v.stop()));
    const errors = viewers.flatMap((v) => v.errors);
    assert.ok(errors.length <= 2 * GROUPS.length, `bodies not read: ${errors.join('; ')}`);

    // From before the first player started: every request of theirs is in the range.
    const from = Math.floor(wallStart / 1000);
    const to = Math.ceil(endMs / 1000) + STEP_S;
    const q = `?from=${from}&to=${to}&step=${STEP_S}`;
    const lines = [`stats: ${viewers.length} players started in ${startMs - wallStart} ms, played ${((endMs - startMs) / 1000).toFixed(1)} s`];
    const failures = [];
    // Every player plays (on a loaded machine some stall now and then: they still fetch).
    let stalled;
    for (const [i, s] of states.entries()) {
      const v = viewers[i];
      const played = s.currentTime - (s.startCurrentTime ?? s.currentTime);
      const stalledHere = !(played >= MIN_PLAYED_S);
      if (s.fatal.length > 0) failures.push(`player ${v.name}: ${JSON.stringify(s.fatal)}`);
      if (stalledHere) {
        failures.push(`player ${v.name} played ${played} s: ${briefState(s)}; refused (${v.refused.length}): ${JSON.stringify(v.refused.slice(0, 3))}`);
      }
      if (s.fatal.length > 0 || stalledHere) {
        stalled ??= { viewer: v, state: s };
        // Its whole state, hls.js's kept log included, beside the run's other logs.
        writeFileSync(join(suite.dir, `player-${v.name}.json`), JSON.stringify(s, null, 1));
      }
    }
    lines.push(`  media time played per player: ${states.map((s) => (s.currentTime - (s.startCurrentTime ?? s.currentTime)).toFixed(0)).join(' ')} s`);
    // How far apart a player's first answers of its rendition playlists came: the live window
    // must still list its start position in the last of them (docs/timeline.md, "Hold-back").
    lines.push(`  first rendition playlists apart per player: ${viewers.map((v) => firstPlaylistsApartMs(v)).join(' ')} ms`);
    for (const n of GROUPS) {
      const group = viewers.filter((v) => v.group === n);
      const downloaded = group.reduce((sum, v) => sum + v.bytes, 0);
      const res = await suite.origin.api('GET', `${statsOf(n)}${q}`);
      assert.equal(res.status, 200, show(res));
      const report = res.json;
      assert.equal(report.step, STEP_S, show(res));
      const served = report.totals.bytes;
      // The origin counts every answer it gave; the players, those they read. The answers
      // they gave up or could not read lie between: at most `unseen` bytes more.
      const unseen = group.reduce((sum, v) => sum + unseenBytes(v), 0);
      const off = served < downloaded ? (downloaded - served) / downloaded : Math.max(0, served - downloaded - unseen) / downloaded;
      const settled = report.buckets.filter((b) => {
        const t = Date.parse(b.start);
        return t >= startMs + SETTLE_MS && t + STEP_S * 1000 <= endMs;
      });
      const unread = group.reduce((sum, v) => sum + v.errors.length, 0);
      const failed = group.reduce((sum, v) => sum + v.failed, 0);
      lines.push(
        `  N=${n}: ${unread} bodies unread, ${failed} requests given up; viewers per settled bucket ${settled.map((b) => b.viewers).join(' ')} (peak ${report.totals.peak_viewers}, unique ${report.totals.unique_viewers}); ` +
          `players downloaded ${downloaded} B in ${group.reduce((s, v) => s + v.responses, 0)} answers, origin reports ${served} B in ${report.totals.requests} requests (${(off * 100).toFixed(2)} % apart beyond the ${unseen} B of answers not seen)`,
      );
      if (settled.length < 4) failures.push(`N=${n}: only ${settled.length} settled buckets: ${JSON.stringify(report.buckets)}`);
      for (const b of settled) {
        if (Math.abs(b.viewers - n) > 1) failures.push(`N=${n}: bucket ${JSON.stringify(b)}`);
      }
      if (report.totals.unique_viewers !== n) failures.push(`N=${n}: ${report.totals.unique_viewers} unique viewers`);
      if (off > BYTES_TOLERANCE) failures.push(`N=${n}: bytes served ${served} vs downloaded ${downloaded} (${(off * 100).toFixed(2)} %)`);
      if (!(report.totals.status['2xx'] > 0)) failures.push(`N=${n}: no 2xx`);
    }
    process.stderr.write(`${lines.join('\n')}\n`);
    if (failures.length > 0) {
      // How the first failed player got there (every failed player's story is alike): its
      // playlists on stderr; the origin's timelines and hls.js's account of its fragments in
      // the failure itself, which is what a CI excerpt keeps.
      const { viewer, state } = stalled ?? { viewer: viewers[0], state: states[0] };
      // A playlist answer in a line: its time, status, URL and lines.
      const playlists = [...viewer.playlists.values()].flat().map((p) => p.split('\n').filter(Boolean).join(' '));
      process.stderr.write(`playlists player ${viewer.name} loaded first and last:\n${playlists.join('\n')}\n`);
      const timelines = timelinesOf(suite.origin.dir, { renditions: RENDITIONS.map((r) => `stream_${r.id}`), first: 10 });
      assert.fail(`${failures.length} failures; the origin's timelines (first segments):\n${timelines}\n${fragmentLog(viewer.name, state)}\n${failures.join('\n')}`);
    }
    ctx.played = { pushFrom: Math.floor(pushMs / 1000), to, players: viewers.length };
  });

  it('the channel reports ingest bitrate per rendition and the live session', async () => {
    const { pushFrom, to, players } = need('played');
    // From the push's start: the readiness polls are in the session too.
    const res = await suite.origin.api('GET', `${CHANNEL_STATS}?from=${pushFrom - STEP_S}&to=${to}&step=${STEP_S}`);
    assert.equal(res.status, 200, show(res));
    const series = res.json.ingest;
    assert.equal(series.length, RENDITIONS.length, `video renditions and audio: ${show(res)}`);
    for (const s of series) {
      assert.equal(s.input, 1, show(res));
      assert.ok(s.bitrate > 0, `bitrate of ${s.rendition}: ${show(res)}`);
    }
    // The 800 kbit/s rendition ingests more than the 300 kbit/s one.
    const [hi, lo] = series.filter((s) => !s.rendition.includes('stream_2'));
    assert.ok(hi.bitrate > lo.bitrate, show(res));
    const sessions = res.json.sessions;
    assert.equal(sessions.length, 1, show(res));
    assert.equal(sessions[0].input, 1, show(res));
    assert.ok(sessions[0].duration >= PLAY_S, show(res));
    // The players and this test's own readiness polls (Node's fetch, one more key).
    assert.equal(sessions[0].cumulative_viewers, players + 1, show(res));
    assert.ok(sessions[0].peak_viewers >= players - 1, show(res));
  });
});

/** The SQL API token the second Worker is given (a secret: never in an answer or the log). */
const SQL_TOKEN = 'e2e-analytics-sql-token-5d1f';

/**
 * A stand-in for the Analytics Engine SQL API on 127.0.0.1: records each statement and its
 * Authorization header; answers one row per statement in the API's JSON shape (`mode` 'ok'),
 * or a 401 as the API gives for a bad token (`mode` 'refuse').
 */
async function startSqlStub() {
  const stub = { statements: [], mode: 'ok' };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      stub.statements.push({ method: req.method, auth: req.headers.authorization, sql: body });
      if (stub.mode === 'refuse') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end('{"errors":[{"message":"Authentication error"}]}');
      }
      const row = {
        bucket: '0', requests: '7', bytes: 7000, s0: '6', s1: 0, s2: '1', s3: 0, viewers: 2,
        first_ms: Date.now() - 5000, last_ms: Date.now() - 1000, duration_ms: 0,
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ meta: [], data: [row], rows: 1, rows_before_limit_at_least: 1 }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${server.address().port}/client/v4/accounts/e2e/analytics_engine/sql`;
  stub.close = () => new Promise((resolve) => server.close(resolve));
  return stub;
}

describe('statistics on the Worker with Analytics Engine', { timeout: 60_000 }, () => {
  const suite = originSuite(tests, 'stats-engine', {
    start: async (opts) => {
      suite.ctx.sql = await startSqlStub();
      return startOrigin({
        ...opts,
        bindings: { STATS_SQL_URL: suite.ctx.sql.url, STATS_API_TOKEN: SQL_TOKEN },
        miniflare: { analyticsEngineDatasets: { EDGEPACK_STATS: { dataset: 'edgepack' } } },
      });
    },
    players: async () => ({ close: async () => {} }),
    stop: (ctx) => ctx.sql?.close(),
  });

  it('writes points without changing answers, and reads reports through the SQL API', async () => {
    const { sql } = suite.ctx;
    const api = suite.origin.api;
    assert.equal((await api('POST', '/api/v1/groups', { name: NAMES.group })).status, 201);
    assert.equal((await api('POST', `${P.group}/channels`, { name: NAMES.channel })).status, 201);
    const e = await api('POST', P.endpoints, { name: NAMES.endpoint, protocol: 'HLS' });
    assert.equal(e.status, 201, show(e));
    // Playback through the real binding: writeDataPoint must neither fail nor change answers.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(e.json.url);
      assert.equal(res.status, 404, await res.text());
    }
    const now = Math.floor(Date.now() / 1000);
    const res = await api('GET', `${ENDPOINT_STATS}?from=${now - 600}&to=${now}&step=60`);
    assert.equal(res.status, 200, show(res));
    assert.equal(sql.statements.length, 3, 'by step, viewer slots, whole range');
    for (const st of sql.statements) {
      assert.equal(st.method, 'POST');
      assert.equal(st.auth, `Bearer ${SQL_TOKEN}`);
      assert.match(st.sql, /^SELECT intDiv\(toUnixTimestamp\(timestamp\) - \d+, \d+\) AS bucket, /);
      assert.match(st.sql, / FROM edgepack WHERE /);
      for (const f of [`blob1 = 'play'`, `blob2 = '${NAMES.group}'`, `blob3 = '${NAMES.channel}'`, `blob4 = '${NAMES.endpoint}'`]) {
        assert.ok(st.sql.includes(f), `${f} in ${st.sql}`);
      }
      assert.match(st.sql, / FORMAT JSON$/);
    }
    const report = res.json;
    assert.equal(report.buckets.length, 10, show(res));
    assert.equal(report.buckets[0].requests, 7, show(res));
    assert.deepEqual(report.buckets[0].status, { '2xx': 6, '3xx': 0, '4xx': 1, '5xx': 0 }, show(res));
    assert.equal(report.totals.bytes, 7000, show(res));
    assert.equal(report.totals.unique_viewers, 2, show(res));
    assert.equal(report.totals.peak_viewers, 2, show(res));

    sql.mode = 'refuse';
    const refused = await api('GET', `${CHANNEL_STATS}?from=${now - 600}&to=${now}&step=60`);
    assert.equal(refused.status, 503, show(refused));
    assert.match(refused.text, /status 401/, show(refused));
    assert.ok(!refused.text.includes(SQL_TOKEN), 'the token is not in the answer');
    assert.ok(!readFileSync(suite.origin.logFile, 'utf8').includes(SQL_TOKEN), 'the token is not in the log');
    const none = await api('GET', ENDPOINT_STATS, undefined, { token: null });
    assert.equal(none.status, 401, show(none));
  });
});
