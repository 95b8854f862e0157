// Acceptance tests of the packaging issue (#3) on the real runtime (the built Worker in workerd
// via Miniflare), a real encoder (ffmpeg pushing live HLS: two H.264 renditions and an AAC
// group) and real players (hls.js, Shaka, dash.js in Chromium). One live push feeds four
// endpoints of one channel: HLS-CMAF, DASH, HLS-CMAF with 4 s segments, and plain HLS (the TS
// as stored, the reference that remuxed segments are compared with).
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEncoder, basicAuth, tail, FPS, RENDITIONS } from './lib/encoder.js';
import { assertPlayed, playDiagnostic } from './lib/players.js';
import { probeFmp4, probeTs } from './lib/probe.js';
import { checkMaster, checkMedia } from './lib/m3u8.js';
import { get, readMaster, readMedia } from './lib/endpoint.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { repeat, waitFor } from './lib/wait.js';
import { createChannel, waitForCmafAndDash } from './lib/packaging-channel.js';
import { readCmafMedia, renditionDir, endpointBase } from './lib/packaging-hls.js';
import { readBoxes, findBox, checkCodec } from './lib/packaging-codecs.js';
import {
  readMpd, checkMpd, checkMpdUpdate, representations, segmentUrl, parseDateTime, parseDuration,
} from './lib/packaging-mpd.js';

const tests = trackedTests();
const { it } = tests;

/**
 * Far longer than the scenarios need (~70 s, ~140 s on a loaded machine): the encoder is stopped
 * when the tests are done, and the end of a push is not what these tests look at.
 */
const PUSH_SECONDS = 300;
/** Input segments every rendition lists before the checks start (3 target durations). */
const READY_SEGMENTS = 3;
/** The 4 s endpoint's own readiness: enough 4 s segments for hls.js's live edge (3 x 4 s). */
const READY_SEGMENTS_4S = 3;
/** One AAC frame at 48 kHz. */
const AAC_FRAME_S = 1024 / 48_000;
/** Remuxed and source timestamps must agree to well under a frame (video 33 ms, audio 21 ms). */
const PTS_TOLERANCE_S = 0.0005;
/** MPD polling while the push runs. */
const MPD_POLL_MS = 1000;
/** Fetches of the MPD needed to judge its updates (about 2 segments' worth of time x 4). */
const MIN_MPD_FETCHES = 8;
/** The origin's /time and this process read the same clock. */
const CLOCK_SKEW_MS = 2000;
/** Newest DASH segments per representation checked against ffprobe and the HLS-CMAF bytes. */
const DASH_SEGMENTS_CHECKED = 2;
const PAGE_ORIGIN = 'http://127.0.0.1:9';
/** Segments replayed to the second channel; the one before the last is late. */
const GAP_REPLAY_SEGMENTS = 6;
/** Period boundaries may differ by a frame between audio and video (one AAC frame is 21 ms). */
const PERIOD_TOLERANCE_S = 0.05;

const NAMES = { group: 'pk-group', channel: 'pk-channel' };
/** Endpoint settings; the DASH ones differ from the defaults so the MPD must carry them. */
const ENDPOINTS = {
  // Six segments: three target durations for players, and fewer segments to decode twice.
  cmaf: { name: 'cmaf', protocol: 'HLS_CMAF', segment_count: 6 },
  dash: {
    name: 'dash',
    protocol: 'DASH',
    manifest_window: 24,
    min_buffer_time: 3,
    min_update_period: 3,
    suggested_presentation_delay: 8,
  },
  cmaf4: { name: 'cmaf4', protocol: 'HLS_CMAF', segment_duration: 4 },
  ts: { name: 'ts', protocol: 'HLS' },
};
const VIDEO = RENDITIONS.filter((r) => r.kind === 'video');

/** Packet timestamps (seconds) of one codec type, in decode order. */
function ptsTimes(probe, type) {
  return probe.packets.filter((p) => p.codec_type === type).map((p) => Number(p.pts_time));
}

/** Where two timestamp lists differ by more than the tolerance, or null. */
function ptsMismatch(a, b) {
  if (a.length !== b.length) return `${a.length} vs ${b.length} timestamps`;
  const i = a.findIndex((x, k) => Math.abs(x - b[k]) > PTS_TOLERANCE_S);
  return i < 0 ? null : `timestamp ${i}: ${a[i]} vs ${b[i]}`;
}

describe('packaging: HLS-CMAF and DASH endpoints on the Worker', { timeout: 300_000 }, () => {
  const suite = originSuite(tests, 'packaging', { stop: (ctx) => ctx.mpdMonitor?.stop() });
  const { ctx, need } = suite;

  /** A probe of a file (init + segment, or TS) kept in the run's directory. */
  let probes = 0;
  const probeName = (what, ext) => `probe-${String(++probes).padStart(3, '0')}-${what.replace(/[^a-z0-9]+/gi, '_')}.${ext}`;

  async function fetchOk(url, headers) {
    const res = await get(url, headers);
    assert.equal(res.status, 200, res.describe());
    return res;
  }

  /** The source TS of output segment `n` of a rendition, as the HLS (TS) endpoint serves it. */
  async function sourceTs(rendition, n) {
    const res = await fetchOk(`${need('bases').ts}${rendition}/${n}.ts`);
    return probeTs(res.body, suite.dir, probeName(`ts-${rendition}-${n}`, 'ts'));
  }

  // --- setup ---------------------------------------------------------------------------------

  it('creates a channel with HLS-CMAF, DASH, 4 s HLS-CMAF and HLS endpoints', async (t) => {
    const made = await createChannel(suite.origin, { ...NAMES, endpoints: Object.values(ENDPOINTS) });
    for (const [name, body] of Object.entries(ENDPOINTS)) {
      const e = made.endpoints[name];
      for (const [field, value] of Object.entries(body)) {
        assert.equal(e[field], value, `endpoint ${name} echoes ${field}: ${JSON.stringify(e)}`);
      }
      assert.match(e.url, new RegExp(`/out/v1/${NAMES.group}/${NAMES.channel}/${name}/manifest\\.(m3u8|mpd)$`), JSON.stringify(e));
    }
    assert.ok(made.endpoints.dash.url.endsWith('.mpd'), made.endpoints.dash.url);
    ctx.input = made.input;
    ctx.endpoints = made.endpoints;
    ctx.bases = Object.fromEntries(Object.entries(made.endpoints).map(([k, e]) => [k, endpointBase(e.url)]));
    t.diagnostic(Object.values(made.endpoints).map((e) => `${e.protocol} ${e.url} segment_duration=${e.segment_duration} manifest_window=${e.manifest_window}`).join('\n'));
  });

  it('the ffmpeg push reaches every endpoint', async (t) => {
    const input = need('input');
    const endpoints = need('endpoints');
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-live.log'),
    });
    const t0 = Date.now();
    await waitForCmafAndDash({
      cmafUrl: endpoints.cmaf.url,
      dashUrl: endpoints.dash.url,
      videoCount: VIDEO.length,
      segments: READY_SEGMENTS,
      timeoutMs: 30_000,
      encoder: ctx.encoder,
      origin: suite.origin,
    });
    t.diagnostic(`ready after ${Date.now() - t0} ms; R2 keys: ${(await suite.origin.r2Keys()).length}`);
    ctx.ready = true;
    ctx.mpdMonitor = monitorMpd(endpoints.dash.url, endpoints.dash, ctx.encoder.done);
  });

  // --- (a) HLS-CMAF ----------------------------------------------------------------------------

  for (const player of ['hls.js', 'shaka']) {
    it(`${player} plays the HLS-CMAF endpoint`, async (t) => {
      need('ready');
      const r = await suite.players.play({ player, url: need('endpoints').cmaf.url, timeoutMs: 25_000 });
      t.diagnostic(playDiagnostic(r));
      assertPlayed(r);
    });
  }

  it('HLS-CMAF master: CODECS match the init segments (avcC, esds) and ffprobe; EXT-X-MAP URIs resolve', async (t) => {
    need('ready');
    const masterUrl = need('endpoints').cmaf.url;
    const { master, text } = await readMaster(masterUrl);
    t.diagnostic(`master ${masterUrl}:\n${text.trim()}`);
    assert.deepEqual(checkMaster(master), [], `master playlist rules:\n${text}`);
    assert.equal(master.variants.length, VIDEO.length, `one variant per video rendition:\n${text}`);
    const audioMedia = master.media.filter((m) => m.TYPE === 'AUDIO' && m.URI);
    assert.equal(audioMedia.length, 1, `one audio rendition:\n${text}`);

    /** The init (of the newest segment's EXT-X-MAP) and ffprobe of init + that segment. */
    async function initAndProbe(playlistUrl, kind) {
      const { playlist, text: pl } = await readCmafMedia(playlistUrl);
      assert.deepEqual(checkMedia(playlist), [], `${playlistUrl}:\n${pl}`);
      assert.ok(playlist.segments.every((s) => s.map), `every segment has an EXT-X-MAP (${playlistUrl}):\n${pl}`);
      for (const map of new Set(playlist.segments.map((s) => s.map))) {
        const res = await fetchOk(map);
        const type = (res.headers.get('content-type') ?? '').split(';')[0];
        assert.equal(type, kind === 'video' ? 'video/mp4' : 'audio/mp4', `Content-Type of ${map}`);
        const boxes = readBoxes(res.body);
        assert.deepEqual(boxes.map((b) => b.type).slice(0, 2), ['ftyp', 'moov'], `${map} starts ftyp, moov`);
        const moov = boxes[1];
        assert.equal(moov.children.filter((b) => b.type === 'trak').length, 1, `${map}: one track per CMAF file`);
        assert.ok(findBox(moov.children, 'mvex'), `${map}: moov has mvex (fragmented)`);
      }
      const seg = playlist.segments.at(-1);
      const init = (await fetchOk(seg.map)).body;
      const body = (await fetchOk(seg.url)).body;
      const probe = await probeFmp4(init, body, suite.dir, probeName(`codec-${kind}-${seg.number}`, 'mp4'));
      assert.equal(probe.errors, '', `ffprobe errors for ${seg.map} + ${seg.url} (${probe.file})`);
      const stream = probe.streams.find((s) => s.codec_type === kind);
      assert.ok(stream, `${kind} stream in ${probe.file}: ${JSON.stringify(probe.streams)}`);
      return { init, stream, map: seg.map };
    }

    const audio = await initAndProbe(new URL(audioMedia[0].URI, masterUrl).href, 'audio');
    assert.equal(String(audio.stream.channels), audioMedia[0].CHANNELS, `CHANNELS vs ffprobe: ${JSON.stringify(audio.stream)}`);
    for (const v of master.variants) {
      const codecs = (v.attrs.CODECS ?? '').split(',');
      const vc = codecs.find((c) => c.startsWith('avc1') || c.startsWith('avc3'));
      const ac = codecs.find((c) => c.startsWith('mp4a'));
      assert.ok(vc && ac && codecs.length === 2, `CODECS="${v.attrs.CODECS}" names one video and one audio codec`);
      const video = await initAndProbe(new URL(v.uri, masterUrl).href, 'video');
      assert.deepEqual(checkCodec(vc, video.init, video.stream), [], `${v.uri}: CODECS vs ${video.map}`);
      assert.deepEqual(checkCodec(ac, audio.init, audio.stream), [], `${v.uri}: CODECS vs ${audio.map}`);
      assert.equal(v.attrs.RESOLUTION, `${video.stream.width}x${video.stream.height}`, `${v.uri}: RESOLUTION vs ffprobe`);
      t.diagnostic(`${v.uri}: CODECS="${v.attrs.CODECS}" = ffprobe ${video.stream.profile}@${video.stream.level} ${video.stream.width}x${video.stream.height} + AAC ${audio.stream.profile} ${audio.stream.channels} ch`);
    }
  });

  it('HLS-CMAF: ffprobe decodes every frame of every segment; counts and timestamps equal the source TS', async (t) => {
    need('ready');
    const { cmaf } = need('endpoints');
    const { renditions } = await readMaster(cmaf.url);
    const base = need('bases').cmaf;
    const check = async (r) => {
      const kind = r.kind === 'audio' ? 'audio' : 'video';
      const rendition = renditionDir(r.url, base);
      const { playlist, text } = await readCmafMedia(r.url);
      assert.deepEqual(checkMedia(playlist), [], `${r.url}:\n${text}`);
      const inits = new Map();
      let frames = 0;
      for (const seg of playlist.segments) {
        assert.ok(Number.isInteger(seg.number), `segment name carries its number: ${seg.uri}`);
        if (!inits.has(seg.map)) inits.set(seg.map, (await fetchOk(seg.map)).body);
        const body = (await fetchOk(seg.url)).body;
        const got = await probeFmp4(inits.get(seg.map), body, suite.dir, probeName(`${rendition}-${kind}-${seg.number}`, 'mp4'));
        const where = `${seg.url} with ${seg.map} (${got.file})`;
        assert.equal(got.errors, '', `ffprobe errors for ${where}`);
        assert.deepEqual(got.streams.map((s) => s.codec_type), [kind], `one ${kind} track in ${where}`);
        const n = Number(got.streams[0].nb_read_frames);
        assert.ok(n > 0, `no frames decoded in ${where}`);
        const src = await sourceTs(rendition, seg.number);
        assert.equal(src.errors, '', `ffprobe errors for the source ${src.file}`);
        const srcStream = src.streams.find((s) => s.codec_type === kind);
        assert.equal(n, Number(srcStream?.nb_read_frames), `${where}: ${n} ${kind} frames, source TS ${src.file} has ${srcStream?.nb_read_frames}`);
        const mismatch = ptsMismatch(ptsTimes(got, kind), ptsTimes(src, kind));
        assert.equal(mismatch, null, `${where} vs source ${src.file}: ${mismatch}`);
        const extinf = kind === 'video' ? n / FPS : (n * 1024) / 48_000;
        assert.ok(Math.abs(extinf - seg.duration) <= (kind === 'video' ? 1 / FPS : AAC_FRAME_S) + 1e-3, `${where}: EXTINF ${seg.duration} for ${n} frames`);
        frames += n;
      }
      return `${rendition} ${kind}: ${playlist.segments.length} segments (${playlist.segments[0].number}..${playlist.segments.at(-1).number}), ${frames} frames = source`;
    };
    const lines = await Promise.all(renditions.filter((r, i) => renditions.findIndex((x) => x.url === r.url) === i).map(check));
    t.diagnostic(lines.join('\n'));
  });

  // --- (b) DASH ------------------------------------------------------------------------------------

  for (const player of ['dash.js', 'shaka']) {
    it(`${player} plays the DASH endpoint`, async (t) => {
      need('ready');
      const r = await suite.players.play({ player, url: need('endpoints').dash.url, timeoutMs: 30_000 });
      t.diagnostic(playDiagnostic(r));
      assertPlayed(r);
    });
  }

  it('the MPD is well-formed, carries the endpoint settings, and its UTCTiming is the origin /time', async (t) => {
    need('ready');
    const { dash } = need('endpoints');
    const res = await fetchOk(dash.url, { origin: PAGE_ORIGIN });
    t.diagnostic(`${dash.url} (${res.headers.get('content-type')}, ${res.headers.get('cache-control')}):\n${res.text.trim()}`);
    assert.equal((res.headers.get('content-type') ?? '').split(';')[0], 'application/dash+xml', res.describe());
    assert.equal(res.headers.get('access-control-allow-origin'), '*', 'CORS on the MPD');
    const mpd = readMpd(res.text);
    assert.deepEqual(checkMpd(mpd, dash), [], res.text);
    assert.equal(mpd.periods.length, 1, `one Period for one uninterrupted push:\n${res.text}`);
    const sets = mpd.periods[0].sets;
    assert.deepEqual(sets.map((s) => s.contentType), ['video', 'audio'], `one AdaptationSet per content type:\n${res.text}`);
    assert.deepEqual(
      sets[0].reps.map((r) => `${r.width}x${r.height}`).sort(),
      VIDEO.map((v) => `${v.width}x${v.height}`).sort(),
      `video Representations:\n${res.text}`,
    );
    assert.equal(sets[1].reps.length, 1, `one audio Representation:\n${res.text}`);

    const timing = mpd.utcTiming.filter((u) => /^urn:mpeg:dash:utc:http-(iso|xsdate):2014$/.test(u.schemeIdUri));
    assert.equal(timing.length, 1, `one http-iso/http-xsdate UTCTiming: ${JSON.stringify(mpd.utcTiming)}`);
    assert.equal(timing[0].value, `${suite.origin.url}/time`, 'UTCTiming points at the origin itself');
    const before = Date.now();
    const time = await fetchOk(timing[0].value, { origin: PAGE_ORIGIN });
    const after = Date.now();
    const ms = parseDateTime(time.text.trim());
    assert.ok(!Number.isNaN(ms), `/time answers an ISO 8601 date with zone: ${time.describe()}`);
    assert.ok(ms >= before - CLOCK_SKEW_MS && ms <= after + CLOCK_SKEW_MS, `/time ${time.text} vs local ${new Date(before).toISOString()}`);
    assert.equal(time.headers.get('access-control-allow-origin'), '*', `CORS on /time (players fetch it cross-origin): ${time.describe()}`);
    assert.match(time.headers.get('cache-control') ?? '', /no-store|no-cache/, `/time is not cacheable: ${time.describe()}`);
    t.diagnostic(`UTCTiming ${timing[0].schemeIdUri} ${timing[0].value} -> ${time.text.trim()} (local ${new Date(after).toISOString()})`);
  });

  it('DASH segments: $Time$ = earliest presentation time, d = sample durations, bytes = the HLS-CMAF segment', async (t) => {
    need('ready');
    const { dash } = need('endpoints');
    const mpd = readMpd((await fetchOk(dash.url)).text);
    const cmafBase = need('bases').cmaf;
    const lines = [];
    for (const [, rep, set] of representations(mpd)) {
      const kind = set.contentType;
      const initUrl = new URL(rep.initialization, dash.url).href;
      const init = (await fetchOk(initUrl)).body;
      const rendition = rep.initialization.slice(0, rep.initialization.lastIndexOf('/'));
      for (let i = rep.segments.length - DASH_SEGMENTS_CHECKED; i < rep.segments.length; i++) {
        const s = rep.segments[i];
        const url = segmentUrl(dash.url, rep.media, { time: s.t });
        const body = (await fetchOk(url)).body;
        const probe = await probeFmp4(init, body, suite.dir, probeName(`dash-${rep.id}-${s.t}`, 'mp4'));
        const where = `${url} with ${initUrl} (${probe.file})`;
        assert.equal(probe.errors, '', `ffprobe errors for ${where}`);
        const stream = probe.streams.find((x) => x.codec_type === kind);
        assert.ok(stream && Number(stream.nb_read_frames) > 0, `${where}: ${JSON.stringify(probe.streams)}`);
        assert.equal(stream.time_base, `1/${rep.timescale}`, `${where}: time_base vs SegmentTemplate@timescale`);
        assert.deepEqual(checkCodec(rep.codecs, init, stream), [], `${rep.id}@codecs vs ${initUrl}`);
        const packets = probe.packets.filter((p) => p.codec_type === kind);
        const earliest = Math.min(...packets.map((p) => Number(p.pts)));
        // ffprobe leaves the first AAC packet's duration N/A: span the presentation instead.
        const end = Math.max(...packets.filter((p) => Number.isFinite(Number(p.duration ?? NaN))).map((p) => Number(p.pts) + Number(p.duration)));
        assert.equal(earliest, s.t, `${where}: earliest presentation time ${earliest} vs S@t ${s.t}`);
        assert.equal(end - earliest, s.d, `${where}: samples span ${end - earliest} vs S@d ${s.d}`);
        // The same output segment under its HLS-CMAF name: one set of bytes for CDNs to cache.
        const n = rep.startNumber + i;
        const same = await get(`${cmafBase}${rendition}/${kind}_${n}.m4s`);
        assert.equal(same.status, 200, same.describe());
        assert.ok(same.body.equals(body), `${url} differs from ${same.url}`);
        const cmafInit = await get(`${cmafBase}${rep.initialization}`);
        assert.ok(cmafInit.status === 200 && cmafInit.body.equals(init), `${initUrl} differs from ${cmafInit.url}`);
      }
      lines.push(`${rep.id}: ${rep.codecs}, timescale ${rep.timescale}, ${rep.segments.length} segments t=${rep.segments[0].t}..${rep.segments.at(-1).t}; newest ${DASH_SEGMENTS_CHECKED} decoded, t/d exact, bytes = HLS-CMAF`);
    }
    t.diagnostic(lines.join('\n'));
  });

  it('MPD updates during the push: availabilityStartTime and Periods fixed, publishTime moves, timelines continuous', async (t) => {
    const monitor = need('mpdMonitor');
    await monitor.stop();
    const { fetches, violations } = monitor;
    assert.deepEqual(violations, [], `MPD rule violations during the push (${fetches.length} fetches)`);
    assert.ok(fetches.length >= MIN_MPD_FETCHES, `only ${fetches.length} MPD fetches`);
    const distinct = (f) => [...new Set(fetches.map(f))];
    const ast = distinct((m) => m.attrs.availabilityStartTime);
    const periods = distinct((m) => JSON.stringify(m.periods.map((p) => [p.id, p.start])));
    const publish = distinct((m) => m.attrs.publishTime);
    assert.equal(ast.length, 1, `availabilityStartTime changed: ${ast}`);
    assert.equal(periods.length, 1, `Period@id/@start changed: ${periods.join(' | ')}`);
    assert.ok(publish.length >= 3, `publishTime moved only through ${publish}`);
    const lastT = (m) => representations(m).map(([, r]) => r.segments.at(-1)?.t);
    t.diagnostic(`${fetches.length} MPD fetches over ${((fetches.at(-1).at - fetches[0].at) / 1000).toFixed(1)} s: availabilityStartTime ${ast[0]}, Periods ${periods[0]}, ${publish.length} publishTimes ${publish[0]} .. ${publish.at(-1)}, newest t ${JSON.stringify(lastT(fetches[0]))} -> ${JSON.stringify(lastT(fetches.at(-1)))}`);
  });

  // --- (c) segment_duration 4 over 2 s input -------------------------------------------------------

  it('segment_duration 4: HLS-CMAF segments are 4 s, each the two source TS segments, and hls.js plays them', async (t) => {
    need('ready');
    const { cmaf4 } = need('endpoints');
    const base = need('bases').cmaf4;
    await waitFor(`${READY_SEGMENTS_4S} segments of 4 s`, async () => {
      const { renditions } = await readMaster(cmaf4.url);
      for (const r of renditions) {
        if ((await readCmafMedia(r.url)).playlist.segments.length < READY_SEGMENTS_4S) return false;
      }
      return true;
    }, { timeoutMs: 30_000 });
    const { renditions, text: masterText } = await readMaster(cmaf4.url);
    assert.equal(renditions.filter((r) => r.kind === 'video').length, VIDEO.length, masterText);
    const lines = [];
    for (const r of renditions.filter((x, i) => renditions.findIndex((y) => y.url === x.url) === i)) {
      const kind = r.kind === 'audio' ? 'audio' : 'video';
      const rendition = renditionDir(r.url, base);
      const { playlist, text } = await readCmafMedia(r.url);
      assert.equal(playlist.targetDuration, 4, `${r.url}:\n${text}`);
      assert.deepEqual(checkMedia(playlist), [], `${r.url}:\n${text}`);
      for (const seg of playlist.segments) {
        const tolerance = kind === 'video' ? 1e-3 : AAC_FRAME_S + 1e-3;
        assert.ok(Math.abs(seg.duration - 4) <= tolerance, `${r.url}: ${seg.uri} EXTINF ${seg.duration}, expected 4 s:\n${text}`);
      }
      // The newest two segments, decoded and compared with their two source TS segments each.
      for (const seg of playlist.segments.slice(-2)) {
        const probe = await probeFmp4((await fetchOk(seg.map)).body, (await fetchOk(seg.url)).body, suite.dir, probeName(`4s-${rendition}-${seg.number}`, 'mp4'));
        const where = `${seg.url} (${probe.file})`;
        assert.equal(probe.errors, '', `ffprobe errors for ${where}`);
        const n = Number(probe.streams.find((s) => s.codec_type === kind)?.nb_read_frames);
        const sources = [await sourceTs(rendition, 2 * seg.number), await sourceTs(rendition, 2 * seg.number + 1)];
        const srcFrames = sources.map((s) => Number(s.streams.find((x) => x.codec_type === kind)?.nb_read_frames));
        assert.equal(n, srcFrames[0] + srcFrames[1], `${where}: ${n} frames vs source TS ${2 * seg.number} + ${2 * seg.number + 1}: ${srcFrames}`);
        if (kind === 'video') assert.equal(n, 4 * FPS, `${where}: 4 s of video at ${FPS} fps`);
        const mismatch = ptsMismatch(ptsTimes(probe, kind), sources.flatMap((s) => ptsTimes(s, kind)));
        assert.equal(mismatch, null, `${where} vs ${sources.map((s) => s.file)}: ${mismatch}`);
      }
      lines.push(`${rendition} ${kind}: TARGETDURATION 4, ${playlist.segments.length} segments of ${[...new Set(playlist.segments.map((s) => s.duration))].join('/')} s; newest 2 = 2 source TS each`);
    }
    const r = await suite.players.play({ player: 'hls.js', url: cmaf4.url, timeoutMs: 30_000 });
    lines.push(`hls.js: ${playDiagnostic(r)}`);
    t.diagnostic(lines.join('\n'));
    assertPlayed(r);
  });

  // --- (d) a discontinuity: Periods in order -------------------------------------------------------

  it('a segment listed before its upload completes: the MPD\'s Periods do not overlap', async (t) => {
    need('ready');
    // Six consecutive segments of the live push (the TS as stored), replayed to a second channel
    // as an encoder catching up would send them: at once, and segment 4's body completing just
    // after the playlist that lists it and segment 5 (ffmpeg does this at the end of a push).
    const tsBase = need('bases').ts;
    const source = {};
    let first = 0;
    for (const r of RENDITIONS) {
      const rendition = `stream_${r.id}/index`;
      source[rendition] = (await readMedia(`${tsBase}${rendition}/media.m3u8`)).playlist.segments;
      first = Math.max(first, source[rendition][0].sequence);
    }
    for (const [rendition, segments] of Object.entries(source)) {
      const run = segments.filter((x) => x.sequence >= first).slice(0, GAP_REPLAY_SEGMENTS);
      assert.equal(run.length, GAP_REPLAY_SEGMENTS, `${rendition}: ${GAP_REPLAY_SEGMENTS} segments from ${first}`);
      for (const x of run) x.body = (await fetchOk(`${tsBase}${rendition}/${x.uri}`)).body;
      source[rendition] = run;
    }
    const made = await createChannel(suite.origin, { group: 'pk-gap', channel: 'pk-gap', endpoints: [{ name: 'dash', protocol: 'DASH' }] });
    const auth = { authorization: basicAuth(made.input.username, made.input.password) };
    const put = async (path, body) => {
      const res = await fetch(made.input.url + path, { method: 'PUT', headers: auth, body });
      const text = await res.text();
      assert.ok(res.status >= 200 && res.status < 300, `PUT ${made.input.url}${path} -> ${res.status} ${text}`);
    };
    const playlistOf = (run, n) => ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0',
      ...run.slice(0, n).flatMap((x, i) => [`#EXTINF:${x.duration.toFixed(6)},`, `seg_${i}.ts`]), ''].join('\n');
    const late = GAP_REPLAY_SEGMENTS - 2;
    for (let i = 0; i < late; i++) {
      for (const [r, run] of Object.entries(source)) {
        await put(`${r}/seg_${i}.ts`, run[i].body);
        await put(`${r}/index.m3u8`, playlistOf(run, i + 1));
      }
    }
    for (const [r, run] of Object.entries(source)) {
      await put(`${r}/seg_${late + 1}.ts`, run[late + 1].body);
      await put(`${r}/index.m3u8`, playlistOf(run, late + 2));
    }
    for (const [r, run] of Object.entries(source)) await put(`${r}/seg_${late}.ts`, run[late].body);

    const res = await fetchOk(made.endpoints.dash.url);
    t.diagnostic(`replayed output segments ${first}..${first + GAP_REPLAY_SEGMENTS - 1} of the live push, segment ${late} late; ${made.endpoints.dash.url}:\n${res.text.trim()}`);
    const mpd = readMpd(res.text);
    assert.deepEqual(checkMpd(mpd, made.endpoints.dash), [], res.text);
    const violations = [];
    for (let i = 0; i + 1 < mpd.periods.length; i++) {
      const [p, q] = [mpd.periods[i], mpd.periods[i + 1]];
      const end = parseDuration(p.start) + Math.max(...p.sets.flatMap((s) => s.reps.map((r) => (r.segments.at(-1).t + r.segments.at(-1).d - r.pto) / r.timescale)));
      if (parseDuration(q.start) + PERIOD_TOLERANCE_S < end) {
        violations.push(`Period ${q.id} starts at ${q.start} (${parseDuration(q.start)} s) but Period ${p.id} (start ${p.start}) lists media up to ${end.toFixed(3)} s: ${(end - parseDuration(q.start)).toFixed(3)} s of ${p.id} would never be presented (ISO/IEC 23009-1 5.3.2.1: a Period lasts until the next starts)`);
      }
    }
    assert.deepEqual(violations, [], res.text);
  });
});

/**
 * Fetches the MPD every MPD_POLL_MS until stopped or the push ends (`pushDone`), checking each
 * fetch on its own (checkMpd) and against the previous one (checkMpdUpdate). Errors are
 * violations too.
 */
function monitorMpd(url, endpoint, pushDone) {
  const fetches = [];
  const violations = [];
  const poller = repeat(async () => {
    const at = Date.now();
    try {
      const res = await get(url);
      if (res.status !== 200) throw new Error(res.describe());
      const mpd = readMpd(res.text);
      mpd.at = at;
      for (const v of checkMpd(mpd, endpoint)) violations.push(`fetch ${fetches.length} (${mpd.attrs.publishTime}): ${v}`);
      const prev = fetches.at(-1);
      if (prev) for (const v of checkMpdUpdate(prev, mpd)) violations.push(`fetch ${fetches.length - 1} -> ${fetches.length}: ${v}`);
      fetches.push(mpd);
    } catch (err) {
      violations.push(`fetch at ${new Date(at).toISOString()}: ${err.message}`);
    }
  }, MPD_POLL_MS);
  pushDone.then(poller.stop, poller.stop);
  return { fetches, violations, stop: poller.stop };
}
