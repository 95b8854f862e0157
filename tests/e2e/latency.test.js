// Latency controls on the Worker (workerd via Miniflare) with a real encoder and a real player:
// HOLD-BACK / EXT-X-START from the endpoint settings, blocking playlist reload (`_HLS_msn`)
// answered as soon as the segment is listed, its 400 and 503, signed tokens kept on the URIs
// of a blocking answer, and hls.js in low-latency mode (its default) reloading with `_HLS_msn`.
// One ffmpeg push with 1 s segments (docs/timeline.md, "Latency").
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEncoder, tail } from './lib/encoder.js';
import { summary, assertPlayed, playDiagnostic } from './lib/players.js';
import { parseAttributes, parseMedia } from './lib/m3u8.js';
import { get, readMaster } from './lib/endpoint.js';
import { createChannel } from './lib/packaging-channel.js';
import { show } from './lib/api.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { sleep, waitFor } from './lib/wait.js';

const tests = trackedTests();
const { it } = tests;

/** Segment duration and GOP asked of ffmpeg: the playlists' target duration is 1 s. */
const SEGMENT_SECONDS = 1;
/** The channel's failover timeout: the automatic hold-back is this + 2 target durations. */
const MAX_SEGMENT_DURATION = 3;
/** Long enough for every test below; the last one stops the encoder itself. */
const PUSH_SECONDS = 70;
/** Segments the rendition must list before the checks start. */
const READY_SEGMENTS = 4;
/** An explicit hold-back above three target durations: kept as set. */
const EXPLICIT_HOLD_BACK = 4;
/** An explicit hold-back below three target durations: raised to three (RFC 8216bis 4.4.3.8). */
const LOW_HOLD_BACK = 1;
/** RFC 8216bis 4.4.3.8 and 6.2.5.2: HOLD-BACK floor, and the wait before a 503, in target durations. */
const MIN_HOLD_BACK_TDS = 3;
const WAIT_TDS = 3;
/** RFC 8216bis 6.2.5.2: `_HLS_msn` more than this past the last segment is a 400. */
const MAX_MSN_AHEAD = 2;
/** The plain poller that the blocking answer is compared with. */
const POLLER_MS = 50;
/**
 * How much later than the plain poller a blocking request may see a segment: the origin
 * re-reads storage every 250 ms for 1 s segments (shared/src/playback/blocking.rs,
 * MIN_POLL_MS), plus the poller's own interval.
 */
const BLOCK_SLACK_MS = 300;
/** Blocking rounds measured (each waits for the next segment). */
const ROUNDS = 3;
/** The 503's timing: the nominal wait plus storage reads and a loaded 2-core machine. */
const TIMEOUT_EARLY_MS = 100;
const TIMEOUT_LATE_MS = 1_500;
/** hls.js plays this long (currentTime advance, seconds) while its requests are recorded. */
const HLS_PLAY_SECONDS = 8;
/** Share of hls.js's rendition playlist reloads that must carry `_HLS_msn`. */
const MIN_BLOCKING_SHARE = 0.5;

const NAMES = { group: 'lat-group', channel: 'lat-1s' };
const SIGNING_KEY = { id: 'k1', secret: 'latency-e2e-signing-secret-0123456789' };

/** The attributes of `#TAG:` in a playlist's text, or null when the tag is absent. */
function tagAttributes(text, tag) {
  const line = text.split(/\r?\n/).find((l) => l.startsWith(`${tag}:`));
  return line === undefined ? null : parseAttributes(line.slice(tag.length + 1));
}

/** `url` with `_HLS_msn=n` added to its query. */
function withMsn(url, n) {
  const u = new URL(url);
  u.searchParams.set('_HLS_msn', String(n));
  return u.href;
}

function maxAge(cacheControl) {
  const m = /(?:^|,)\s*max-age=(\d+)/.exec(cacheControl ?? '');
  return m ? Number(m[1]) : null;
}

/** Every URI a media playlist references: segment lines and URI="..." attributes. */
function referencedUris(text) {
  const uris = [];
  for (const l of text.split(/\r?\n/).map((x) => x.trim()).filter(Boolean)) {
    if (!l.startsWith('#')) uris.push(l);
    else for (const m of l.matchAll(/URI="([^"]*)"/g)) uris.push(m[1]);
  }
  return uris;
}

/** A timed GET: { res (lib/endpoint.js get), ms (until the body is read), atMs (performance.now()) }. */
async function timedGet(url) {
  const t0 = performance.now();
  const res = await get(url);
  const atMs = performance.now();
  return { res, ms: atMs - t0, atMs };
}

describe('latency: hold-back and blocking playlist reload on the Worker', { timeout: 150_000 }, () => {
  const suite = originSuite(tests, 'latency');
  const { ctx, need } = suite;

  it('sets up a channel with 1 s segments (max_segment_duration 3), four HLS endpoints and a live push', async () => {
    const made = await createChannel(suite.origin, {
      ...NAMES,
      settings: { max_segment_duration: MAX_SEGMENT_DURATION },
      endpoints: [
        { name: 'auto', protocol: 'HLS' },
        { name: 'held', protocol: 'HLS', hold_back: EXPLICIT_HOLD_BACK },
        { name: 'low', protocol: 'HLS', hold_back: LOW_HOLD_BACK },
        { name: 'signed', protocol: 'HLS', signing_keys: [SIGNING_KEY] },
      ],
    });
    assert.equal(made.endpoints.auto.hold_back, null, JSON.stringify(made.endpoints.auto));
    const input = made.input;
    ctx.endpoints = made.endpoints;
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      segmentSeconds: SEGMENT_SECONDS,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-live.log'),
    });
    const url = await waitFor(`${READY_SEGMENTS} segments in the first rendition`, async () => {
      const { renditions } = await readMaster(made.endpoints.auto.url);
      const r = renditions.find((x) => x.kind === 'video');
      if (!r) return null;
      const res = await get(r.url);
      return res.status === 200 && parseMedia(res.text).segments.length >= READY_SEGMENTS ? r.url : null;
    }, { timeoutMs: 30_000 }).catch((err) => assert.fail(`${err.message}\nffmpeg log:\n${tail(ctx.encoder.log(), 15)}\norigin log: ${suite.origin.logFile}`));
    ctx.renditionUrl = url;
  });

  it('live media playlists carry CAN-BLOCK-RELOAD=YES, HOLD-BACK and EXT-X-START as the settings imply', async () => {
    const endpoints = need('endpoints');
    for (const [name, endpoint] of Object.entries(endpoints)) {
      const masterUrl = name === 'signed' ? (await sign(endpoint)).url : endpoint.url;
      const { text: masterText, renditions } = await readMaster(masterUrl);
      assert.equal(tagAttributes(masterText, '#EXT-X-START'), null, `${name}: no EXT-X-START in the master\n${masterText}`);
      assert.ok(renditions.length >= 3, `${name}: two video renditions and audio\n${masterText}`);
      for (const r of renditions) {
        const res = await get(r.url);
        assert.equal(res.status, 200, res.describe());
        const pl = parseMedia(res.text);
        const td = pl.targetDuration;
        assert.equal(td, SEGMENT_SECONDS, `${name} ${r.url}: target duration\n${res.text}`);
        const expected = {
          auto: Math.max(MAX_SEGMENT_DURATION + 2 * td, MIN_HOLD_BACK_TDS * td),
          held: Math.max(EXPLICIT_HOLD_BACK, MIN_HOLD_BACK_TDS * td),
          low: MIN_HOLD_BACK_TDS * td,
          signed: Math.max(MAX_SEGMENT_DURATION + 2 * td, MIN_HOLD_BACK_TDS * td),
        }[name];
        const control = tagAttributes(res.text, '#EXT-X-SERVER-CONTROL');
        assert.ok(control, `${name} ${r.url}: EXT-X-SERVER-CONTROL\n${res.text}`);
        assert.equal(control['CAN-BLOCK-RELOAD'], 'YES', `${name} ${r.url}\n${res.text}`);
        assert.equal(Number(control['HOLD-BACK']), expected, `${name} ${r.url}: HOLD-BACK\n${res.text}`);
        const start = tagAttributes(res.text, '#EXT-X-START');
        assert.ok(start, `${name} ${r.url}: EXT-X-START\n${res.text}`);
        assert.equal(Number(start['TIME-OFFSET']), -expected, `${name} ${r.url}: TIME-OFFSET\n${res.text}`);
      }
    }
  });

  /** A signed manifest URL of `endpoint` (README "Signed URLs"). */
  async function sign(endpoint) {
    const path = new URL(endpoint.url).pathname;
    const apiPath = `/api/v1/groups/${NAMES.group}/channels/${NAMES.channel}/endpoints/${endpoint.name}/signed-url`;
    const s = await suite.origin.api('POST', apiPath, { expires_in: 600 });
    assert.equal(s.status, 200, show(s));
    assert.ok(new URL(s.json.url).pathname === path, `${s.json.url} vs ${endpoint.url}`);
    return s.json;
  }

  it(`_HLS_msn=L+1 answers with L+1 within ${BLOCK_SLACK_MS} ms of a plain poller, cacheable; L+${MAX_MSN_AHEAD + 1} is 400`, async () => {
    const url = need('renditionUrl');
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) {
      const plain = await get(url);
      assert.equal(plain.status, 200, plain.describe());
      const last = parseMedia(plain.text).segments.at(-1).sequence;
      const want = last + 1;

      // A plain poller and the blocking request, side by side.
      let pollerSawMs = null;
      let polls = 0;
      const poller = (async () => {
        const deadline = performance.now() + (WAIT_TDS + 1) * SEGMENT_SECONDS * 1000;
        while (pollerSawMs === null && performance.now() < deadline) {
          const { res, atMs } = await timedGet(url);
          polls++;
          if (res.status === 200 && parseMedia(res.text).segments.some((s) => s.sequence === want)) pollerSawMs = atMs;
          else await sleep(POLLER_MS);
        }
      })();
      const blocking = await timedGet(withMsn(url, want));
      await poller;

      const { res } = blocking;
      assert.equal(res.status, 200, res.describe());
      const pl = parseMedia(res.text);
      assert.ok(pl.segments.some((s) => s.sequence === want), `the answer lists segment ${want}\n${res.describe()}`);
      const cc = res.headers.get('cache-control') ?? '';
      assert.match(cc, /\bpublic\b/, res.describe());
      assert.equal(maxAge(cc), WAIT_TDS * pl.targetDuration, `max-age of a blocking answer: ${res.describe()}`);
      assert.ok(pollerSawMs !== null, `the plain poller never saw segment ${want} (${polls} polls)`);
      const lagMs = blocking.atMs - pollerSawMs;
      rounds.push({ want, blockedMs: Math.round(blocking.ms), lagMs: Math.round(lagMs), polls });
      assert.ok(lagMs <= BLOCK_SLACK_MS, `blocking answer ${lagMs.toFixed(0)} ms after the poller saw ${want}: ${JSON.stringify(rounds)}`);

      // Right after a new segment: more than two past the last is refused at once.
      const newest = pl.segments.at(-1).sequence;
      const far = await timedGet(withMsn(url, newest + MAX_MSN_AHEAD + 1));
      assert.equal(far.res.status, 400, far.res.describe());
      assert.ok(far.ms < 1000, `the 400 took ${far.ms.toFixed(0)} ms`);
    }
    const plain = await get(url);
    assert.ok(maxAge(plain.headers.get('cache-control')) < WAIT_TDS * SEGMENT_SECONDS, `a plain live playlist is cached briefly: ${plain.describe()}`);
    process.stderr.write(`latency: blocking rounds ${JSON.stringify(rounds)}\n`);
  });

  it('signed URLs: a blocking answer keeps the token on every URI and carries _HLS_msn on none', async () => {
    const endpoints = need('endpoints');
    const signed = await sign(endpoints.signed);
    const { renditions } = await readMaster(signed.url);
    for (const r of renditions) {
      assert.ok(new URL(r.url).searchParams.get('token') === signed.token, `rendition URI carries the token: ${r.url}`);
    }
    const url = renditions.find((x) => x.kind === 'video').url;
    const plain = await get(url);
    assert.equal(plain.status, 200, plain.describe());
    const want = parseMedia(plain.text).segments.at(-1).sequence + 1;
    const { res } = await timedGet(withMsn(url, want));
    assert.equal(res.status, 200, res.describe());
    assert.ok(parseMedia(res.text).segments.some((s) => s.sequence === want), res.describe());
    const uris = referencedUris(res.text);
    assert.ok(uris.length > 0, res.describe());
    for (const uri of uris) {
      const u = new URL(uri, url);
      assert.equal(u.searchParams.get('token'), signed.token, `token on ${uri}\n${res.text}`);
      assert.equal(u.searchParams.has('_HLS_msn'), false, `no _HLS_msn on ${uri}\n${res.text}`);
      assert.equal(u.searchParams.has('_HLS_part'), false, `no _HLS_part on ${uri}\n${res.text}`);
    }
    // Without the token the directive changes nothing: refused, at once.
    const bare = new URL(withMsn(url, want + 1));
    bare.searchParams.delete('token');
    const refused = await timedGet(bare.href);
    assert.ok([401, 403].includes(refused.res.status), refused.res.describe());
    assert.ok(refused.ms < 1000, `refusal took ${refused.ms.toFixed(0)} ms`);
  });

  it('hls.js in low-latency mode (its default) plays; most of its playlist reloads carry _HLS_msn', async () => {
    const endpoints = need('endpoints');
    const r = await suite.players.play({
      player: 'hls.js',
      url: endpoints.auto.url,
      minAdvance: HLS_PLAY_SECONDS,
      timeoutMs: 40_000,
      observe(page) {
        const playlistRequests = [];
        page.on('request', (q) => {
          if (new URL(q.url()).pathname.endsWith('.m3u8')) playlistRequests.push({ url: q.url(), atMs: Date.now() });
        });
        return { playlistRequests };
      },
    });
    assertPlayed(r);
    assert.equal(r.lowLatencyMode, true, `hls.js lowLatencyMode\n${summary(r)}`);
    const masterPath = new URL(endpoints.auto.url).pathname;
    const reloads = r.playlistRequests.filter((q) => new URL(q.url).pathname !== masterPath);
    const blocking = reloads.filter((q) => new URL(q.url).searchParams.has('_HLS_msn'));
    const share = blocking.length / Math.max(1, reloads.length);
    assert.ok(
      share >= MIN_BLOCKING_SHARE && blocking.length >= HLS_PLAY_SECONDS / SEGMENT_SECONDS,
      `${blocking.length} of ${reloads.length} rendition playlist requests carry _HLS_msn\n${reloads.map((q) => q.url).join('\n')}\n${summary(r)}`,
    );
    process.stderr.write(`latency: hls.js ${playDiagnostic(r)}; ${blocking.length}/${reloads.length} reloads blocking; behind live ${r.liveLatency ?? 'n/a'} s\n`);
  });

  it(`after the encoder stops, _HLS_msn=L+1 answers 503 (no-store) after ${WAIT_TDS} target durations`, async () => {
    const url = need('renditionUrl');
    const encoder = need('encoder');
    encoder.stop('SIGTERM');
    await encoder.done;
    // The last uploads have landed once the playlist stops changing for two target durations.
    let last = null;
    await waitFor('the playlist to stop growing', async () => {
      const res = await get(url);
      const seq = parseMedia(res.text).segments.at(-1).sequence;
      const settled = seq === last;
      last = seq;
      return settled;
    }, { timeoutMs: 20_000, intervalMs: 2 * SEGMENT_SECONDS * 1000 });
    const { res, ms } = await timedGet(withMsn(url, last + 1));
    assert.equal(res.status, 503, res.describe());
    assert.match(res.headers.get('cache-control') ?? '', /no-store/, res.describe());
    const nominal = WAIT_TDS * SEGMENT_SECONDS * 1000;
    assert.ok(
      ms >= nominal - TIMEOUT_EARLY_MS && ms <= nominal + TIMEOUT_LATE_MS,
      `503 after ${ms.toFixed(0)} ms, expected about ${nominal} ms`,
    );
    process.stderr.write(`latency: 503 after ${ms.toFixed(0)} ms\n`);
  });
});
