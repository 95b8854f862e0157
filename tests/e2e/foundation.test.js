// Acceptance tests of the foundation issue against the real runtime (the built Worker in
// workerd via Miniflare), a real encoder (ffmpeg pushing live HLS by PUT) and real players
// (hls.js and Shaka in Chromium). One live push is shared by every scenario that needs it.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEncoder, basicAuth, tail, FPS, RENDITIONS, AUDIO_GROUP } from './lib/encoder.js';
import { summary, MIN_ADVANCE_SECONDS } from './lib/players.js';
import { probeTs, firstPacketIsKey } from './lib/probe.js';
import { checkMaster, checkMedia } from './lib/m3u8.js';
import { get, readMaster, readMedia, monitorLive } from './lib/endpoint.js';
import { channelPaths, show } from './lib/api.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { sleep, waitFor } from './lib/wait.js';

const tests = trackedTests();
const { it } = tests;

/** The shared push: long enough to get ready (~7 s), run both players and the checks. */
const PUSH_SECONDS = 32;
/** The wrong-password push: a few segments' worth of PUTs. */
const BAD_PUSH_SECONDS = 6;
/** Segments every rendition must list before the live checks start (3 target durations). */
const READY_SEGMENTS = 3;
/** One AAC frame at 48 kHz: audio EXTINF is a whole number of frames, give or take one. */
const AAC_FRAME_S = 1024 / 48_000;
/** EXTINF may be rounded by the origin; allow one video frame either way. */
const VIDEO_FRAME_TOLERANCE = 1;
/** A page on another origin, as a player on a web site would be. */
const PAGE_ORIGIN = 'http://127.0.0.1:9';
const PLAYLIST_TYPES = ['application/vnd.apple.mpegurl', 'audio/mpegurl'];

const NAMES = { group: 'e2e-group', channel: 'e2e-channel', endpoint: 'e2e-hls' };
const P = channelPaths(NAMES);

function maxAge(cacheControl) {
  const m = /(?:^|,)\s*(?:s-)?max-age=(\d+)/.exec(cacheControl ?? '');
  return m ? Number(m[1]) : null;
}

describe('foundation: API, ingest and HLS playback on the Worker', { timeout: 180_000 }, () => {
  const suite = originSuite(tests, 'foundation');
  const { ctx, need } = suite;

  // --- control API ---------------------------------------------------------------------

  it('GET /healthz answers 200 ok without auth', async () => {
    const res = await get(`${suite.origin.url}/healthz`);
    assert.equal(res.status, 200, res.describe());
    assert.equal(res.text.trim(), 'ok');
  });

  it('creates a group, an HLS channel with two inputs and an HLS endpoint', async () => {
    const g = await suite.origin.api('POST', '/api/v1/groups', { name: NAMES.group });
    assert.ok([200, 201].includes(g.status), show(g));
    assert.equal(g.json?.name, NAMES.group, show(g));

    const c = await suite.origin.api('POST', `${P.group}/channels`, { name: NAMES.channel, protocol: 'HLS' });
    assert.ok([200, 201].includes(c.status), show(c));
    const inputs = c.json?.inputs;
    assert.ok(Array.isArray(inputs) && inputs.length === 2, `two inputs expected: ${show(c)}`);
    for (const [i, input] of inputs.entries()) {
      assert.equal(input.id, i + 1, show(c));
      assert.match(input.url, /^http:\/\/127\.0\.0\.1:\d+\/in\/v1\/.+\/$/, `ingest URL: ${show(c)}`);
      assert.ok(input.username && input.password, `credentials: ${show(c)}`);
    }
    assert.notEqual(inputs[0].password, inputs[1].password, 'each input has its own password');

    const e = await suite.origin.api('POST', P.endpoints, { name: NAMES.endpoint, protocol: 'HLS' });
    assert.ok([200, 201].includes(e.status), show(e));
    assert.match(e.json?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/out\/v1\/.+\.m3u8$/, `endpoint URL: ${show(e)}`);

    const read = await suite.origin.api('GET', P.channel);
    assert.equal(read.status, 200, show(read));
    assert.equal(read.json?.name, NAMES.channel, show(read));
    ctx.input = inputs[0];
    ctx.masterUrl = e.json.url;
  });

  it('refuses the API without a valid bearer token (401)', async () => {
    for (const token of [null, 'wrong-token']) {
      const res = await suite.origin.api('GET', '/api/v1/groups', undefined, { token });
      assert.equal(res.status, 401, `token ${token}: ${show(res)}`);
    }
    const post = await suite.origin.api('POST', '/api/v1/groups', { name: 'sneaky' }, { token: null });
    assert.equal(post.status, 401, show(post));
    const list = await suite.origin.api('GET', '/api/v1/groups');
    assert.ok(!list.text.includes('sneaky'), `unauthenticated POST created something: ${show(list)}`);
  });

  it('challenges an API request without credentials (401 with WWW-Authenticate: Bearer)', async () => {
    // RFC 9110 15.5.2: a 401 response MUST carry WWW-Authenticate; RFC 6750 3 names the scheme.
    const res = await suite.origin.api('GET', '/api/v1/groups', undefined, { token: null });
    assert.equal(res.status, 401, show(res));
    const challenge = res.headers.get('www-authenticate');
    assert.match(challenge ?? '', /^Bearer\b/i, `WWW-Authenticate: ${challenge}; ${show(res)}`);
  });

  it('rejects an invalid setting with 400 naming the field, creating nothing', async () => {
    need('input');
    const res = await suite.origin.api('POST', P.endpoints, { name: 'too-long', protocol: 'HLS', segment_count: 500 });
    assert.equal(res.status, 400, show(res));
    assert.ok(res.json !== null, `JSON body expected: ${show(res)}`);
    assert.match(res.text, /segment_count/, `body names the field: ${show(res)}`);
    assert.match(res.text, /\b2\b.*\b100\b/, `body names the allowed range 2-100: ${show(res)}`);
    const read = await suite.origin.api('GET', `${P.endpoints}/too-long`);
    assert.equal(read.status, 404, `nothing half-created: ${show(read)}`);
  });

  it('rejects a duplicate group name with 409', async () => {
    need('input');
    const res = await suite.origin.api('POST', '/api/v1/groups', { name: NAMES.group });
    assert.equal(res.status, 409, show(res));
  });

  it('refuses to delete a channel that has endpoints (409) and keeps it', async () => {
    need('input');
    const res = await suite.origin.api('DELETE', P.channel);
    assert.equal(res.status, 409, show(res));
    assert.ok(res.json !== null, `JSON body expected: ${show(res)}`);
    const read = await suite.origin.api('GET', P.channel);
    assert.equal(read.status, 200, `channel still there: ${show(read)}`);
  });

  // --- ingest authentication ---------------------------------------------------------------

  it('answers an ingest PUT with wrong or missing credentials with 401 and a Basic challenge', async () => {
    const input = need('input');
    for (const authorization of [basicAuth(input.username, 'wrong-password'), null]) {
      const headers = { 'content-type': 'application/vnd.apple.mpegurl' };
      if (authorization) headers.authorization = authorization;
      const res = await fetch(`${input.url}stream_0/index.m3u8`, {
        method: 'PUT',
        headers,
        body: '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n',
      });
      const text = await res.text();
      const what = `PUT ${input.url}stream_0/index.m3u8 (${authorization ? 'wrong password' : 'no auth'}) -> ${res.status} ${text.slice(0, 200)}`;
      assert.equal(res.status, 401, what);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic\b/i, `WWW-Authenticate: ${what}`);
    }
  });

  it('stores nothing from an ffmpeg push with a wrong password', async (t) => {
    const input = need('input');
    const r2Before = await suite.origin.r2Keys();
    const kvBefore = await suite.origin.kvKeys();
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
    const r2After = await suite.origin.r2Keys();
    const kvAfter = await suite.origin.kvKeys();
    assert.deepEqual(r2After.filter((k) => !r2Before.includes(k)), [], 'no new R2 objects');
    // The only write a refused login may cause is its failed-login counter (per minute, expiring).
    const kvAdded = kvAfter.filter((k) => !kvBefore.includes(k) && !k.startsWith('throttle/'));
    assert.deepEqual(kvAdded, [], 'no new KV keys');
    t.diagnostic(`${opened.length} refused uploads; R2 ${r2After.length} keys, KV ${kvAfter.length} keys before and after`);
  });

  // --- the shared live push ------------------------------------------------------------------

  it('an ffmpeg push with Basic auth reaches the endpoint', async (t) => {
    const input = need('input');
    const masterUrl = need('masterUrl');
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-live.log'),
    });
    const t0 = Date.now();
    const ready = await waitFor(
      `${READY_SEGMENTS} segments in every rendition of ${masterUrl}`,
      async () => {
        const m = await readMaster(masterUrl);
        if (m.renditions.length === 0) return false;
        for (const r of m.renditions) {
          if ((await readMedia(r.url)).playlist.segments.length < READY_SEGMENTS) return false;
        }
        return m;
      },
      { timeoutMs: 25_000 },
    ).catch((err) => assert.fail(`${err.message}\nffmpeg log (${ctx.encoder.logFile}):\n${tail(ctx.encoder.log(), 15)}\nworkerd log: ${suite.origin.logFile}`));
    ctx.readyAfterMs = Date.now() - t0;
    t.diagnostic(`${READY_SEGMENTS} segments in every rendition after ${ctx.readyAfterMs} ms; R2 keys: ${(await suite.origin.r2Keys()).length}`);
    ctx.ready = ready;
    ctx.monitor = monitorLive([...new Set(ready.renditions.map((r) => r.url))]);
  });

  for (const player of ['hls.js', 'shaka']) {
    it(`${player} plays the live master`, async (t) => {
      const masterUrl = need('masterUrl');
      need('ready');
      const r = await suite.players.play({ player, url: masterUrl, timeoutMs: 20_000 });
      t.diagnostic(`currentTime ${r.startCurrentTime?.toFixed(2)} -> ${r.currentTime?.toFixed(2)} (+${r.advanced.toFixed(2)} s), ${r.frames} frames decoded, ${r.videoWidth}x${r.videoHeight}, ${r.elapsedMs} ms, non-fatal: ${JSON.stringify(r.warnings)}`);
      assert.deepEqual(r.fatal, [], `fatal player errors\n${summary(r)}`);
      assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `currentTime advanced ${r.advanced} s < ${MIN_ADVANCE_SECONDS}\n${summary(r)}`);
      assert.ok(r.frames > 0, `decoded frames ${r.frames}\n${summary(r)}`);
    });
  }

  it('the master lists two video variants and the audio group', async (t) => {
    const { master, text, response } = await readMaster(need('masterUrl'));
    t.diagnostic(`master ${response.url}:\n${text.trim()}`);
    assert.deepEqual(checkMaster(master), [], `master playlist rules:\n${text}`);
    const video = master.variants.filter((v) => v.attrs.RESOLUTION);
    assert.equal(video.length, 2, `two video variants:\n${text}`);
    const expected = RENDITIONS.filter((r) => r.kind === 'video').map((r) => `${r.width}x${r.height}`);
    assert.deepEqual(video.map((v) => v.attrs.RESOLUTION).sort(), expected.sort(), text);
    for (const v of video) {
      assert.match(v.attrs.BANDWIDTH ?? '', /^[1-9]\d*$/, `BANDWIDTH: ${text}`);
      assert.match(v.attrs.CODECS ?? '', /avc1\.[0-9a-fA-F]{6}/, `CODECS names H.264: ${text}`);
      assert.match(v.attrs.CODECS ?? '', /mp4a\.40\.\d+/, `CODECS names AAC: ${text}`);
      assert.ok(v.attrs.AUDIO, `variant references its audio group: ${text}`);
    }
    const [hi, lo] = [...video].sort((a, b) => Number(b.attrs.RESOLUTION.split('x')[0]) - Number(a.attrs.RESOLUTION.split('x')[0]));
    assert.ok(Number(hi.attrs.BANDWIDTH) > Number(lo.attrs.BANDWIDTH), `BANDWIDTH follows the encoder's bitrates: ${text}`);
    const audio = master.media.filter((m) => m.TYPE === 'AUDIO');
    assert.ok(audio.length >= 1, `an EXT-X-MEDIA audio rendition: ${text}`);
    for (const v of video) {
      const group = audio.filter((m) => m['GROUP-ID'] === v.attrs.AUDIO);
      assert.ok(group.length >= 1 && group.every((m) => m.URI), `audio group ${v.attrs.AUDIO} with a URI: ${text}`);
    }
    assert.ok(audio.some((m) => m['GROUP-ID'].includes(AUDIO_GROUP)) || audio.length === 1, text);
    assert.ok(!/#EXT-X-ENDLIST/.test(text), 'no ENDLIST in a master');
  });

  /** Fetches every segment `r` lists and decodes it; returns the number checked. */
  async function checkRenditionSegments(r, t) {
    const { playlist, text, response } = await readMedia(r.url);
    assert.deepEqual(checkMedia(playlist), [], `${r.url}:\n${text}`);
    if (r.kind === 'video' && r.attrs.RESOLUTION === `${RENDITIONS[0].width}x${RENDITIONS[0].height}`) {
      t.diagnostic(`${r.url} (${JSON.stringify(Object.fromEntries(response.headers))}):\n${text.trim()}`);
    }
    for (const [i, seg] of playlist.segments.entries()) {
      const url = new URL(seg.uri, r.url).href;
      const res = await get(url);
      assert.equal(res.status, 200, res.describe());
      const probe = await probeTs(res.body, suite.dir, `probe-${r.attrs.RESOLUTION ?? r.kind}-${i}.ts`);
      assert.equal(probe.errors, '', `ffprobe errors for ${url}`);
      const streams = probe.streams;
      assert.ok(streams.length >= 1, `no streams in ${url}`);
      for (const s of streams) {
        assert.ok(Number(s.nb_read_frames) > 0, `no frames decoded in ${url}: ${JSON.stringify(s)}`);
      }
      const v = streams.find((s) => s.codec_type === 'video');
      const a = streams.find((s) => s.codec_type === 'audio');
      if (r.kind === 'video') {
        assert.equal(v?.codec_name, 'h264', `${url}: ${JSON.stringify(streams)}`);
        assert.equal(`${v.width}x${v.height}`, r.attrs.RESOLUTION, `${url} matches RESOLUTION`);
        assert.ok(
          Math.abs(Number(v.nb_read_frames) - seg.duration * FPS) <= VIDEO_FRAME_TOLERANCE,
          `${url}: ${v.nb_read_frames} frames for EXTINF ${seg.duration}`,
        );
        assert.ok(firstPacketIsKey(probe), `${url} starts with a key frame`);
      } else if (r.kind === 'audio') {
        assert.equal(a?.codec_name, 'aac', `${url}: ${JSON.stringify(streams)}`);
        const d = (Number(a.nb_read_frames) * 1024) / Number(a.sample_rate);
        assert.ok(
          Math.abs(d - seg.duration) <= AAC_FRAME_S + 1e-3,
          `${url}: ${a.nb_read_frames} AAC frames (${d} s) for EXTINF ${seg.duration}`,
        );
      }
    }
    return playlist.segments.length;
  }

  it('every rendition playlist follows the live rules and every segment decodes', async (t) => {
    const all = (await readMaster(need('masterUrl'))).renditions;
    // An audio-only variant may name the same playlist as the audio group: check it once.
    const renditions = all.filter((r, i) => all.findLastIndex((x) => x.url === r.url) === i);
    const counts = await Promise.all(renditions.map((r) => checkRenditionSegments(r, t)));
    const checked = counts.reduce((a, b) => a + b, 0);
    assert.ok(counts.every((n) => n >= READY_SEGMENTS), `segments per rendition: ${counts}`);
    t.diagnostic(`${checked} segments in ${renditions.length} renditions decoded by ffprobe without errors`);
  });

  it('serves playlists and segments with Content-Type, Cache-Control and CORS', async (t) => {
    const masterUrl = need('masterUrl');
    const { renditions } = await readMaster(masterUrl);
    const media = await readMedia(renditions[0].url);
    const segUrl = new URL(media.playlist.segments[0].uri, renditions[0].url).href;
    const window = media.playlist.segments.reduce((s, x) => s + x.duration, 0);
    const td = media.playlist.targetDuration;
    const withOrigin = { origin: PAGE_ORIGIN };
    const master = await get(masterUrl, withOrigin);
    const playlist = await get(renditions[0].url, withOrigin);
    const segment = await get(segUrl, withOrigin);

    for (const res of [master, playlist]) {
      const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
      assert.ok(PLAYLIST_TYPES.includes(type), `Content-Type: ${res.describe()}`);
    }
    assert.equal((segment.headers.get('content-type') ?? '').split(';')[0].trim(), 'video/mp2t', `Content-Type: ${segment.describe().slice(0, 300)}`);

    const mcc = master.headers.get('cache-control');
    assert.ok(mcc, `master Cache-Control: ${master.describe()}`);
    const pcc = playlist.headers.get('cache-control') ?? '';
    const pAge = maxAge(pcc);
    assert.ok(/no-cache|no-store/.test(pcc) || (pAge !== null && pAge <= td), `live playlist must not be cached past one target duration (${td} s): Cache-Control "${pcc}"`);
    const scc = segment.headers.get('cache-control') ?? '';
    const sAge = maxAge(scc);
    assert.ok(!/no-store|no-cache|private/.test(scc) && sAge !== null && sAge >= window, `segment (stable name) cacheable at least the playlist window ${window} s: Cache-Control "${scc}"`);

    for (const res of [master, playlist, segment]) {
      const acao = res.headers.get('access-control-allow-origin');
      assert.ok(acao === '*' || acao === PAGE_ORIGIN, `CORS for ${res.url}: access-control-allow-origin=${acao}`);
    }
    for (const res of [master, playlist, segment]) {
      t.diagnostic(`${res.url}: ${res.headers.get('content-type')} | ${res.headers.get('cache-control')} | ACAO ${res.headers.get('access-control-allow-origin')}`);
    }
    const preflight = await fetch(masterUrl, {
      method: 'OPTIONS',
      headers: { origin: PAGE_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    await preflight.arrayBuffer();
    assert.ok(preflight.status >= 200 && preflight.status < 300, `preflight OPTIONS ${masterUrl} -> ${preflight.status}`);
    assert.ok(preflight.headers.get('access-control-allow-origin'), `preflight allows the origin: ${JSON.stringify(Object.fromEntries(preflight.headers))}`);
  });

  it('live playlists advance in order while the push runs, with stable segment names', async (t) => {
    const encoder = need('encoder');
    const monitor = need('monitor');
    const result = await encoder.done;
    await sleep(1000);
    await monitor.stop();
    ctx.pushExit = result;
    assert.deepEqual(monitor.violations, [], 'playlist rule violations during the push');
    for (const [url, list] of monitor.history) {
      assert.ok(list.length >= 5, `${url} polled ${list.length} times`);
      const first = list[0].segments.at(-1).sequence;
      const last = list.at(-1).segments.at(-1).sequence;
      assert.ok(last - first >= 5, `${url} advanced only from segment ${first} to ${last} during the push`);
      t.diagnostic(`${url}: ${list.length} polls, last segment ${first} -> ${last}`);
    }
  });

  it("GET /api/v1/runtime reports the isolate's memory and its allocator, counted", async () => {
    const r = await suite.origin.api('GET', '/api/v1/runtime');
    assert.equal(r.status, 200, show(r));
    const { wasm_memory_bytes: memory, heap } = r.json ?? {};
    assert.ok(Number.isInteger(memory) && memory > 0 && memory % 65536 === 0, show(r));
    assert.ok(heap && heap.allocations > 0, `a push counted no allocation: ${show(r)}`);
    assert.ok(heap.live_bytes > 0 && heap.live_bytes <= heap.peak_bytes && heap.peak_bytes <= memory, show(r));
  });

  it('rejects a malformed media playlist PUT with 400 and keeps serving the previous one', async () => {
    const input = need('input');
    need('pushExit');
    const { renditions } = await readMaster(need('masterUrl'));
    const target = renditions.find((r) => r.kind === 'video' && r.attrs.RESOLUTION === `${RENDITIONS[0].width}x${RENDITIONS[0].height}`);
    assert.ok(target, 'the 640x360 rendition');
    const before = await get(target.url);
    assert.equal(before.status, 200, before.describe());
    const bodies = {
      'not a playlist': 'this is not a playlist\n',
      'EXTINF not a number': '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:abc,\nseg_99999.ts\n',
    };
    for (const [what, body] of Object.entries(bodies)) {
      const put = await fetch(`${input.url}stream_0/index.m3u8`, {
        method: 'PUT',
        headers: { authorization: basicAuth(input.username, input.password), 'content-type': 'application/vnd.apple.mpegurl' },
        body,
      });
      const text = await put.text();
      assert.equal(put.status, 400, `PUT ${input.url}stream_0/index.m3u8 (${what}) -> ${put.status} ${text.slice(0, 300)}`);
    }
    const afterRes = await get(target.url);
    assert.equal(afterRes.status, 200, afterRes.describe());
    assert.equal(afterRes.text, before.text, `rendition playlist changed after rejected PUTs (${target.url})`);
  });
});
