// HTTP-FLV live output (issue #15) on the real runtime: the built Worker in workerd, ffmpeg
// pushing live HLS (two H.264 renditions and an AAC group), and the FLV endpoint read three
// ways: by a byte-level reader here (header, keyframe first, timestamps never back), by ffmpeg
// (`-i URL.flv -t 10 -f null -`: decodes without error), and by mpegts.js in Chromium (frames
// decoded grow). Time to first frame is measured for HTTP-FLV and for hls.js on the same
// channel's HLS endpoint.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEncoder, tail } from './lib/encoder.js';
import { assertPlayed, playDiagnostic } from './lib/players.js';
import { readMaster } from './lib/endpoint.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { waitFor } from './lib/wait.js';
import { createChannel } from './lib/packaging-channel.js';
import { frameLatencies, parseTags, readStream, START_PDT_HEADER } from './lib/flv.js';

const run = promisify(execFile);
const tests = trackedTests();
const { it } = tests;

/** Longer than the suite needs; the encoder is stopped when the tests are done. */
const PUSH_SECONDS = 240;
/** Segments the HLS endpoint lists before the checks start (three target durations). */
const READY_SEGMENTS = 3;
/** How long the byte-level reader follows the stream. */
const READ_MS = 7_000;
/** Time-to-first-frame samples per protocol (the benchmark takes 20, by hand). */
const TTFF_STARTS = 3;
const NAMES = { group: 'flv-group', channel: 'flv-channel' };

describe('HTTP-FLV: live FLV endpoint on the Worker with ffmpeg, mpegts.js and ffprobe', { timeout: 300_000 }, () => {
  const suite = originSuite(tests, 'flv');
  const { ctx, need } = suite;

  it('an FLV endpoint beside an HLS one on a live channel', async () => {
    const made = await createChannel(suite.origin, {
      ...NAMES,
      endpoints: [
        { name: 'flv', protocol: 'FLV' },
        { name: 'hls', protocol: 'HLS' },
      ],
    });
    const flvUrl = made.endpoints.flv.url;
    assert.match(flvUrl, /\/flv\/manifest\.flv$/);
    ctx.encoder = startEncoder({
      base: made.input.url,
      seconds: PUSH_SECONDS,
      auth: { username: made.input.username, password: made.input.password },
      logFile: join(suite.dir, 'ffmpeg.log'),
    });
    const hlsUrl = made.endpoints.hls.url;
    await waitFor(`${READY_SEGMENTS} segments on ${hlsUrl}`, async () => {
      const m = await readMaster(hlsUrl);
      if (m.renditions.length < 3) return false;
      for (const r of m.renditions) {
        const text = await (await fetch(r.url)).text();
        if ((text.match(/#EXTINF/g) ?? []).length < READY_SEGMENTS) return false;
      }
      return true;
    }, { timeoutMs: 60_000 }).catch((err) => assert.fail(`${err.message}\n${tail(ctx.encoder.log(), 12)}`));
    ctx.flvUrl = flvUrl;
    ctx.hlsUrl = hlsUrl;
  });

  it('streams the header, a keyframe first, then tags whose timestamps never go back', async (t) => {
    const url = need('flvUrl');
    const { res, bytes, firstByteMs, chunks, arrivals } = await readStream(url, READ_MS);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'video/x-flv');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(bytes.subarray(0, 3).toString('latin1'), 'FLV');
    assert.equal(bytes[4] & 0x05, 0x05, 'audio and video flags');
    const tags = parseTags(bytes);
    assert.equal(tags[0].type, 18, 'onMetaData first');
    const video = tags.filter((x) => x.type === 9);
    assert.deepEqual([video[0].first, video[0].second], [0x17, 0], 'the AVC sequence header');
    assert.deepEqual([video[1].first, video[1].second], [0x17, 1], 'then a keyframe');
    const audio = tags.filter((x) => x.type === 8);
    assert.equal(audio[0].second, 0, 'the AAC sequence header');
    for (const [kind, list] of [['video', video], ['audio', audio]]) {
      for (let i = 1; i < list.length; i++) {
        assert.ok(list[i].ts >= list[i - 1].ts, `${kind} timestamp back at tag ${i}: ${list[i - 1].ts} -> ${list[i].ts}`);
      }
    }
    // The stream kept coming: more than the first segment's worth of media in the read.
    const spanMs = video.at(-1).ts - video[1].ts;
    assert.ok(spanMs >= 4000, `video spans ${spanMs} ms of a ${READ_MS} ms read (${chunks} chunks)`);
    t.diagnostic(`first byte after ${firstByteMs} ms; ${chunks} chunks, ${tags.length} tags, video ${video.length} tags over ${spanMs} ms`);
    // Latency behind the encoder: each frame's arrival against ffmpeg's clock (its program
    // date time). The first segment comes from the GOP cache; the frames after it arrive as
    // their segments are ingested.
    const latencies = frameLatencies(bytes, arrivals, res.headers.get(START_PDT_HEADER));
    for (const { latency } of latencies) assert.ok(latency > 0, `a frame arrived ${latency} s before the encoder released it`);
    // The first segment arrives at once (maybe over a few network reads); the next ones later.
    const later = latencies.filter((f) => f.wallMs > arrivals[0].wallMs + 250).map((f) => f.latency).sort((a, b) => a - b);
    const fmt = (x) => (x === undefined ? 'n/a' : x.toFixed(2));
    t.diagnostic(`latency behind the encoder: first frame ${fmt(latencies[0]?.latency)} s; frames after the first chunk p50 ${fmt(later[Math.floor(later.length / 2)])} s, max ${fmt(later.at(-1))} s (${later.length} frames)`);
  });

  it('ffmpeg -i URL.flv -t 10 -f null - decodes without error', async (t) => {
    const url = need('flvUrl');
    const t0 = Date.now();
    const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', url, '-t', '10', '-f', 'null', '-'], {
      timeout: 60_000,
      maxBuffer: 4 << 20,
    });
    assert.equal(stderr.trim(), '', `ffmpeg reported: ${stderr.slice(0, 2000)}`);
    t.diagnostic(`10 s decoded in ${Date.now() - t0} ms (real time: the stream arrives live)`);
  });

  it('mpegts.js plays the FLV endpoint in Chromium; time to first frame beside hls.js', async (t) => {
    const flvUrl = need('flvUrl');
    const hlsUrl = need('hlsUrl');
    const ttff = { 'mpegts.js': [], 'hls.js': [] };
    for (let i = 0; i < TTFF_STARTS; i++) {
      for (const [player, url] of [['mpegts.js', flvUrl], ['hls.js', hlsUrl]]) {
        // The first start plays long enough to judge playback; the others only to time it.
        const r = await suite.players.play({ player, url, minAdvance: i === 0 ? 6 : 1 });
        if (i === 0) assertPlayed(r);
        else assert.ok(r.fatal.length === 0 && r.frames > 0, `${player} start ${i}: ${playDiagnostic(r)}`);
        const playing = r.events.find((e) => e.kind === 'playing');
        // From the page's start of playback to its first `playing` event.
        if (playing && r.startWallMs) ttff[player].push(r.startWallMs - (r.nowMs - r.elapsedMs));
        if (i === 0) t.diagnostic(`${player}: ${playDiagnostic(r)}`);
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    t.diagnostic(`time to first frame (ms), median of ${TTFF_STARTS}: mpegts.js (HTTP-FLV) ${median(ttff['mpegts.js'])} [${ttff['mpegts.js'].join(', ')}], hls.js (HLS) ${median(ttff['hls.js'])} [${ttff['hls.js'].join(', ')}]`);
  });

  it('the edge cache answers a second GET of a segment (Cache API: no storage read), same bytes', async (t) => {
    const hlsUrl = need('hlsUrl');
    const { renditions } = await readMaster(hlsUrl);
    const text = await (await fetch(renditions[0].url)).text();
    const uri = text.split('\n').filter((l) => l && !l.startsWith('#'))[0];
    // A query of its own: players earlier in the suite may have cached the plain URL already.
    const url = `${new URL(uri, renditions[0].url)}?e2e=${Date.now()}`;
    const first = await fetch(url);
    const firstBytes = Buffer.from(await first.arrayBuffer());
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-edgepack-cache'), 'MISS');
    assert.equal(first.headers.get('x-edgepack-edge-cache'), null, 'the hint stays inside the Worker');
    // The copy is stored after the answer is sent (waitUntil).
    const second = await waitFor('a cached copy', async () => {
      const r = await fetch(url);
      return r.headers.get('x-edgepack-cache') === 'HIT' ? r : (await r.arrayBuffer(), false);
    }, { timeoutMs: 10_000, intervalMs: 200 });
    const secondBytes = Buffer.from(await second.arrayBuffer());
    assert.ok(firstBytes.equals(secondBytes), 'the same bytes');
    assert.equal(second.headers.get('cache-control'), first.headers.get('cache-control'), 'the core\'s Cache-Control');
    assert.equal(second.headers.get('x-edgepack-cache-control'), null);
    // Playlists are never kept.
    const playlist = await fetch(renditions[0].url);
    assert.equal(playlist.headers.get('x-edgepack-cache'), null);
    await playlist.arrayBuffer();
    t.diagnostic(`${uri}: MISS then HIT, ${secondBytes.length} bytes`);
  });
});
