// The foundation scenarios against the Spin build: the component spin.toml names, in the
// repository's wasmtime host (Spin key-value in SQLite), a real encoder (ffmpeg pushing live HLS
// by PUT with Basic auth) and real players (hls.js, Shaka and dash.js in Chromium) on the HLS,
// HLS-CMAF and DASH endpoints. One live push is shared by every scenario that needs it; the last
// scenario restarts the host.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSpinOrigin } from '../lib/spin-host.js';
import { startEncoder, basicAuth, tail, FPS } from '../lib/encoder.js';
import { summary, MIN_ADVANCE_SECONDS } from '../lib/players.js';
import { readFile, writeFile } from 'node:fs/promises';
import { REPO_DIR } from '../lib/paths.js';
import { probeTs, probeFile } from '../lib/probe.js';
import { checkMedia } from '../lib/m3u8.js';
import { get, readMaster, readMedia, monitorLive } from '../lib/endpoint.js';
import { channelPaths, show } from '../lib/api.js';
import { trackedTests } from '../lib/run.js';
import { originSuite } from '../lib/suite.js';
import { sleep, waitFor } from '../lib/wait.js';

const tests = trackedTests();
const { it } = tests;

/** The shared push: long enough to get ready, run six player sessions and the checks. */
const PUSH_SECONDS = 55;
/** The wrong-password push: a few segments' worth of PUTs. */
const BAD_PUSH_SECONDS = 6;
/** Segments every rendition must list before the live checks start (3 target durations). */
const READY_SEGMENTS = 3;
/** The time-shift window on Spin (seconds). */
const WINDOW_S = 16;
/** EXTINF may be rounded by the origin; allow one video frame either way. */
const VIDEO_FRAME_TOLERANCE = 1;

const NAMES = { group: 'spin-group', channel: 'spin-channel', endpoint: 'spin-hls' };
/** The packaged endpoints, played beside the HLS (TS) one. */
const PACKAGED = [
  { name: 'spin-cmaf', protocol: 'HLS_CMAF', players: ['hls.js', 'shaka'] },
  { name: 'spin-dash', protocol: 'DASH', players: ['dash.js', 'shaka'] },
  // HTTP-FLV: one streamed response, ended by the platform limit (25 s by default here).
  { name: 'spin-flv', protocol: 'FLV', players: ['mpegts.js'] },
];
const P = channelPaths(NAMES);

describe('spin: API, ingest, HLS/CMAF/DASH playback and restart on the Spin component', { timeout: 240_000 }, () => {
  const suite = originSuite(tests, 'spin', { start: startSpinOrigin, originDir: 'host' });
  const { ctx, need } = suite;

  it('GET /healthz answers 200 ok without auth', async () => {
    const res = await get(`${suite.origin.url}/healthz`);
    assert.equal(res.status, 200, res.describe());
    assert.equal(res.text.trim(), 'ok');
  });

  it('GET /api/v1/runtime: an instance per request, whose allocator is not counted', async () => {
    const r = await suite.origin.api('GET', '/api/v1/runtime');
    assert.equal(r.status, 200, show(r));
    assert.ok(Number.isInteger(r.json?.wasm_memory_bytes) && r.json.wasm_memory_bytes > 0, show(r));
    assert.equal(r.json.heap, null, show(r));
  });

  it('serves the console: its files as built, with the CSP, revalidated by ETag', async () => {
    for (const file of ['', 'console.js', 'console.css', 'players/hls.min.js']) {
      const res = await get(`${suite.origin.url}/console/${file}`);
      assert.equal(res.status, 200, res.describe());
      const built = await readFile(join(REPO_DIR, 'functions/console/dist', file || 'index.html'));
      assert.ok(res.body.equals(built), `/console/${file} differs from the build`);
      assert.match(res.headers.get('content-security-policy'), /default-src 'none'/);
      const again = await get(`${suite.origin.url}/console/${file}`, { 'if-none-match': res.headers.get('etag') });
      assert.equal(again.status, 304, again.describe());
    }
  });

  it('creates a group, an HLS channel with two inputs, and HLS, HLS-CMAF, DASH and FLV endpoints', async () => {
    const g = await suite.origin.api('POST', '/api/v1/groups', { name: NAMES.group });
    assert.equal(g.status, 201, show(g));
    const c = await suite.origin.api('POST', `${P.group}/channels`, { name: NAMES.channel, protocol: 'HLS' });
    assert.equal(c.status, 201, show(c));
    const inputs = c.json?.inputs;
    assert.ok(Array.isArray(inputs) && inputs.length === 2, `two inputs expected: ${show(c)}`);
    for (const [i, input] of inputs.entries()) {
      assert.equal(input.id, i + 1, show(c));
      assert.ok(input.url.startsWith(`${suite.origin.url}/in/v1/`) && input.url.endsWith('/'), `ingest URL on the request's host: ${show(c)}`);
      assert.ok(input.username && input.password.length >= 32, `credentials: ${show(c)}`);
    }
    const e = await suite.origin.api('POST', P.endpoints, { name: NAMES.endpoint, protocol: 'HLS', time_shift_days: 1 });
    assert.equal(e.status, 201, show(e));
    assert.match(e.json?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/out\/v1\/.+\.m3u8$/, `endpoint URL: ${show(e)}`);
    ctx.packaged = {};
    for (const { name, protocol } of PACKAGED) {
      const p = await suite.origin.api('POST', P.endpoints, { name, protocol });
      assert.equal(p.status, 201, show(p));
      ctx.packaged[name] = p.json.url;
    }
    const read = await suite.origin.api('GET', P.channel);
    assert.equal(read.status, 200, show(read));
    ctx.input = inputs[0];
    ctx.masterUrl = e.json.url;
    ctx.channel = read.json;
  });

  it('refuses the API without a valid bearer token (401) and names a bad field (400)', async () => {
    need('input');
    for (const token of [null, 'wrong-token']) {
      const res = await suite.origin.api('GET', '/api/v1/groups', undefined, { token });
      assert.equal(res.status, 401, `token ${token}: ${show(res)}`);
    }
    const bad = await suite.origin.api('POST', P.endpoints, { name: 'too-long', protocol: 'HLS', segment_count: 500 });
    assert.equal(bad.status, 400, show(bad));
    assert.match(bad.text, /segment_count/, show(bad));
  });

  it('answers an ingest PUT with wrong credentials with 401 and a Basic challenge', async () => {
    const input = need('input');
    const res = await fetch(`${input.url}stream_0/index.m3u8`, {
      method: 'PUT',
      headers: { authorization: basicAuth(input.username, 'wrong-password') },
      body: '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n',
    });
    await res.arrayBuffer();
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic\b/i);
  });

  it('stores nothing from an ffmpeg push with a wrong password', async () => {
    const input = need('input');
    const before = await suite.origin.kvKeys();
    const bad = startEncoder({
      base: input.url,
      seconds: BAD_PUSH_SECONDS,
      auth: { username: input.username, password: `${input.password}-wrong` },
      logFile: join(suite.dir, 'ffmpeg-wrong-password.log'),
    });
    await bad.done;
    const log = bad.log();
    const opened = log.split('\n').filter((l) => /Opening 'http:.*' for writing/.test(l));
    assert.ok(opened.length >= 3, `ffmpeg made no upload attempts:\n${tail(log)}`);
    const after = await suite.origin.kvKeys();
    // The only write a refused login may cause is its failed-login counter (per minute, expiring).
    const added = after.filter((k) => !before.includes(k) && !k.startsWith('kv:throttle/'));
    assert.deepEqual(added, [], 'no new key-value entries');
  });

  it('an ffmpeg push with Basic auth reaches the endpoint', async () => {
    const input = need('input');
    const masterUrl = need('masterUrl');
    ctx.pushStartMs = Date.now();
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-live.log'),
    });
    ctx.ready = await waitFor(
      `${READY_SEGMENTS} segments in every rendition of ${masterUrl}`,
      async () => {
        const m = await readMaster(masterUrl);
        if (m.renditions.length < 3) return false;
        for (const r of m.renditions) {
          if ((await readMedia(r.url)).playlist.segments.length < READY_SEGMENTS) return false;
        }
        return m;
      },
      { timeoutMs: 30_000 },
    ).catch((err) => assert.fail(`${err.message}\nffmpeg log (${ctx.encoder.logFile}):\n${tail(ctx.encoder.log(), 15)}\nhost log: ${suite.origin.logFile}`));
    ctx.monitor = monitorLive([...new Set(ctx.ready.renditions.map((r) => r.url))]);
    const keys = await suite.origin.kvKeys();
    assert.ok(keys.some((k) => k.startsWith('obj:seg/')), `segments stored as objects in key-value: ${keys.slice(0, 20)}`);
  });

  for (const player of ['hls.js', 'shaka']) {
    it(`${player} plays the live master`, async () => {
      const masterUrl = need('masterUrl');
      need('ready');
      const r = await suite.players.play({ player, url: masterUrl, timeoutMs: 25_000 });
      assert.deepEqual(r.fatal, [], `fatal player errors\n${summary(r)}`);
      assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `currentTime advanced ${r.advanced} s < ${MIN_ADVANCE_SECONDS}\n${summary(r)}`);
      assert.ok(r.frames > 0, `decoded frames ${r.frames}\n${summary(r)}`);
    });
  }

  for (const { name, protocol, players: list } of PACKAGED) {
    for (const player of list) {
      it(`${player} plays the ${protocol} endpoint`, async () => {
        need('ready');
        const url = need('packaged')[name];
        const r = await suite.players.play({ player, url, timeoutMs: 30_000 });
        assert.deepEqual(r.fatal, [], `fatal player errors\n${summary(r)}`);
        assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `currentTime advanced ${r.advanced} s < ${MIN_ADVANCE_SECONDS}\n${summary(r)}`);
        assert.ok(r.frames > 0, `decoded frames ${r.frames}\n${summary(r)}`);
      });
    }
  }

  it('every video segment listed decodes completely (ffprobe)', async () => {
    const { renditions } = await readMaster(need('masterUrl'));
    let checked = 0;
    for (const r of renditions.filter((x) => x.kind === 'video')) {
      const { playlist, text } = await readMedia(r.url);
      assert.deepEqual(checkMedia(playlist), [], `${r.url}:\n${text}`);
      for (const seg of playlist.segments) {
        const url = new URL(seg.uri, r.url).href;
        const res = await get(url);
        assert.equal(res.status, 200, res.describe());
        const probe = await probeTs(res.body, suite.dir, `probe-${checked}.ts`);
        assert.equal(probe.errors, '', `ffprobe errors for ${url}`);
        const v = probe.streams.find((s) => s.codec_type === 'video');
        assert.equal(`${v?.width}x${v?.height}`, r.attrs.RESOLUTION, `${url}: ${JSON.stringify(probe.streams)}`);
        assert.ok(Math.abs(Number(v.nb_read_frames) - seg.duration * FPS) <= VIDEO_FRAME_TOLERANCE, `${url}: ${v.nb_read_frames} frames for EXTINF ${seg.duration}`);
        checked += 1;
      }
    }
    assert.ok(checked >= 2 * READY_SEGMENTS, `checked ${checked} segments`);
  });

  it('takes the client address from the TCP peer, never from a client-set spin-client-addr', async () => {
    need('ready');
    const spoofed = { 'spin-client-addr': '10.1.2.3:4444' };
    for (const [name, settings] of [
      ['spin-blocked', { ip_blocklist: ['127.0.0.1/32'] }],
      ['spin-allowed', { ip_allowlist: ['10.0.0.0/8'] }],
    ]) {
      const e = await suite.origin.api('POST', P.endpoints, { name, protocol: 'HLS', ...settings });
      assert.equal(e.status, 201, show(e));
      const res = await get(e.json.url, spoofed);
      assert.equal(res.status, 403, `${name} with a spoofed client address: ${res.describe()}`);
      const del = await suite.origin.api('DELETE', `${P.endpoints}/${name}`);
      assert.ok(del.status < 300, show(del));
    }
  });

  it('stores a segment over the 1 MB value cap in chunks and serves it whole', async () => {
    const input = need('input');
    const { renditions } = await readMaster(need('masterUrl'));
    const { playlist } = await readMedia(renditions[0].url);
    const sample = await get(new URL(playlist.segments[0].uri, renditions[0].url).href);
    assert.equal(sample.status, 200, sample.describe());
    // A TS body of about 2.5 MB: the sample segment (whole TS packets) repeated.
    const big = Buffer.concat(Array.from({ length: Math.ceil(2_500_000 / sample.body.length) }, () => sample.body));
    const c = await suite.origin.api('POST', `${P.group}/channels`, { name: 'spin-big' });
    assert.equal(c.status, 201, show(c));
    const e = await suite.origin.api('POST', `${P.group}/channels/spin-big/endpoints`, { name: 'hls' });
    assert.equal(e.status, 201, show(e));
    const [bigInput] = c.json.inputs;
    const auth = { authorization: basicAuth(bigInput.username, bigInput.password) };
    const keysBefore = await suite.origin.kvKeys('chunk:');
    const put = async (path, body) => {
      const res = await fetch(bigInput.url + path, { method: 'PUT', headers: auth, body });
      await res.arrayBuffer();
      assert.ok(res.status < 300, `PUT ${path} -> ${res.status}`);
    };
    await put('big/seg_0.ts', big);
    await put('big/index.m3u8', `#EXTM3U\n#EXT-X-TARGETDURATION:${playlist.targetDuration}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:${playlist.segments[0].duration},\nseg_0.ts\n`);
    const chunks = (await suite.origin.kvKeys('chunk:')).filter((k) => !keysBefore.includes(k));
    assert.ok(chunks.length >= 3, `2.5 MB stored as chunks below 1 MB: ${chunks}`);
    const media = await readMedia(`${e.json.url.replace(/manifest\.m3u8$/, '')}big/index/media.m3u8`);
    const served = await get(new URL(media.playlist.segments[0].uri, media.response.url).href);
    assert.equal(served.status, 200, served.describe().slice(0, 300));
    assert.equal(served.body.length, big.length, 'whole body served');
    assert.ok(served.body.equals(big), 'same bytes as uploaded');
    for (const path of [`${P.group}/channels/spin-big/endpoints/hls`, `${P.group}/channels/spin-big`]) {
      const del = await suite.origin.api('DELETE', path);
      assert.ok(del.status < 300, show(del));
    }
    assert.ok(input, 'the live channel is untouched');
  });

  it('live playlists advance in order while the push runs', async () => {
    const encoder = need('encoder');
    const monitor = need('monitor');
    await encoder.done;
    await sleep(1000);
    await monitor.stop();
    ctx.pushDone = true;
    assert.deepEqual(monitor.violations, [], 'playlist rule violations during the push');
    for (const [url, list] of monitor.history) {
      const first = list[0].segments.at(-1).sequence;
      const last = list.at(-1).segments.at(-1).sequence;
      assert.ok(last - first >= 4, `${url} advanced only from segment ${first} to ${last} during the push`);
    }
  });

  // Issue 7 on Spin, which has no cron: the maintenance routes drive harvest and expiry.
  it('time-shift on Spin: a vodend window, a harvest job driven by the maintenance route, clip.mp4', async () => {
    need('pushDone');
    const masterUrl = need('masterUrl');
    const startMs = need('pushStartMs') + 12_000;
    const window = { start: new Date(startMs).toISOString(), end: new Date(startMs + WINDOW_S * 1000).toISOString() };
    const q = `start=${window.start}&vodend=${window.end}`;
    const { renditions } = await readMaster(`${masterUrl}?${q}`);
    for (const r of renditions) {
      const { playlist, text } = await readMedia(r.url);
      assert.ok(playlist.endList, text);
      const total = playlist.segments.reduce((sum, x) => sum + x.duration, 0);
      assert.ok(Math.abs(total - WINDOW_S) <= 2, `${r.url}: ${total} s for ${WINDOW_S} s\n${text}`);
    }

    const job = await suite.origin.api('POST', `${P.channel}/harvest-jobs`, {
      endpoint: NAMES.endpoint, start: window.start, end: window.end, destination: 'spin/e2e',
    });
    assert.equal(job.status, 201, show(job));
    let state = job.json;
    for (let i = 0; i < 30 && state.status !== 'SUCCEEDED' && state.status !== 'FAILED'; i++) {
      const run = await suite.origin.api('POST', '/api/v1/maintenance/harvest');
      assert.equal(run.status, 200, show(run));
      state = (await suite.origin.api('GET', `${P.channel}/harvest-jobs/${state.id}`)).json;
    }
    assert.equal(state.status, 'SUCCEEDED', JSON.stringify(state));
    assert.equal(state.progress.segments_done, state.progress.segments_total, JSON.stringify(state));
    const r = await suite.players.play({ player: 'hls.js', url: state.asset_url, untilEnded: true, rate: 4, timeoutMs: 30_000 });
    assert.deepEqual(r.fatal, [], summary(r));
    assert.ok(r.ended && Math.abs(r.duration - WINDOW_S) <= 2, summary(r));

    const clip = await get(`${masterUrl.replace(/[^/]+$/, 'clip.mp4')}?start=${window.start}&end=${window.end}`);
    assert.equal(clip.status, 200, clip.describe());
    const file = join(suite.dir, 'clip.mp4');
    await writeFile(file, clip.body);
    const probe = await probeFile(file);
    assert.equal(probe.errors, '', probe.errors);
    const duration = Number(probe.format?.duration);
    assert.ok(Math.abs(duration - WINDOW_S) <= 2, `clip duration ${duration}`);
    const video = probe.streams.find((x) => x.codec_type === 'video');
    assert.equal(Number(video?.nb_read_frames), Math.round(Number(video?.duration) * FPS), JSON.stringify(video));

    const expire = await suite.origin.api('POST', '/api/v1/maintenance/expire');
    assert.equal(expire.status, 200, show(expire));
    assert.equal(expire.json.segments_deleted, 0, 'nothing within retention expires');
  });

  it('a restart of the host keeps the channel and its content', async () => {
    need('pushDone');
    const masterUrl = need('masterUrl');
    const before = await readMaster(masterUrl);
    const rendition = before.renditions[0].url;
    const media = await readMedia(rendition);
    const segUrl = new URL(media.playlist.segments.at(-1).uri, rendition).href;
    const segment = await get(segUrl);
    assert.equal(segment.status, 200, segment.describe());

    const { port, stateDir } = suite.origin;
    await suite.origin.dispose();
    suite.origin = await startSpinOrigin({ dir: join(suite.dir, 'host'), stateDir, port });
    assert.equal(suite.origin.port, port, 'same port after the restart');

    const channel = await suite.origin.api('GET', P.channel);
    assert.equal(channel.status, 200, show(channel));
    assert.deepEqual(channel.json, ctx.channel, 'channel unchanged (settings and credentials)');
    const after = await readMaster(masterUrl);
    assert.equal(after.text, before.text, 'master playlist unchanged');
    const mediaAfter = await readMedia(rendition);
    assert.equal(mediaAfter.text, media.text, 'rendition playlist unchanged');
    const segAfter = await get(segUrl);
    assert.equal(segAfter.status, 200, segAfter.describe());
    assert.ok(segAfter.body.equals(segment.body), 'segment bytes unchanged');
    const input = need('input');
    const put = await fetch(`${input.url}stream_0/index.m3u8`, {
      method: 'PUT',
      headers: { authorization: basicAuth(input.username, input.password) },
      body: 'not a playlist\n',
    });
    await put.arrayBuffer();
    assert.equal(put.status, 400, 'the stored credentials still authenticate after the restart');
  });
});
