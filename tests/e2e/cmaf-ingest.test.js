// HLS_CMAF input on both real runtimes (the built Worker in workerd; the Spin component in the
// repository's wasmtime host): Debian's ffmpeg pushes live HLS with fragmented MP4 segments
// (`-hls_segment_type fmp4`: an init segment per rendition, audio in its own rendition) by
// HTTP PUT; the channel's HLS-CMAF and DASH endpoints play in hls.js, Shaka and dash.js, and
// ffprobe decodes every segment they serve, with timestamps that continue from one segment to
// the next.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEncoder, FPS, HLS_TIME, RENDITIONS } from './lib/encoder.js';
import { assertPlayed, playDiagnostic } from './lib/players.js';
import { prober } from './lib/probe.js';
import { checkMaster } from './lib/m3u8.js';
import { get, readMaster } from './lib/endpoint.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { createChannel, waitForCmafAndDash } from './lib/packaging-channel.js';
import { endpointBase } from './lib/packaging-hls.js';
import { checkCmafRenditions, checkDashRepresentations, checkTsRenditions } from './lib/served-segments.js';
import { channelPaths, show } from './lib/api.js';
import { startOrigin } from './lib/origin.js';
import { startSpinOrigin } from './lib/spin-host.js';

const tests = trackedTests();
const { it } = tests;

/** Far longer than the checks need: the encoder is stopped when the tests are done. */
const PUSH_SECONDS = 240;
/** Input segments every rendition lists before the checks start (3 target durations). */
const READY_SEGMENTS = 3;

const NAMES = { group: 'cm-group', channel: 'cm-channel' };
const ENDPOINTS = {
  cmaf: { name: 'cmaf', protocol: 'HLS_CMAF', segment_count: 6 },
  dash: { name: 'dash', protocol: 'DASH' },
  ts: { name: 'ts', protocol: 'HLS', segment_count: 6 },
};
const VIDEO = RENDITIONS.filter((r) => r.kind === 'video');
/** What ffprobe must find in every served segment (lib/served-segments.js). */
const SEGMENT_FRAMES = { videoFrames: HLS_TIME * FPS, fps: FPS };

const PLATFORMS = [
  { name: 'the Worker (workerd)', dir: 'cmaf-ingest-worker', start: startOrigin, originDir: 'origin' },
  { name: 'the Spin component (wasmtime host)', dir: 'cmaf-ingest-spin', start: startSpinOrigin, originDir: 'host' },
];

for (const platform of PLATFORMS) describe(`HLS_CMAF input (ffmpeg fMP4 push) on ${platform.name}`, { timeout: 240_000 }, () => {
  const suite = originSuite(tests, platform.dir, { start: platform.start, originDir: platform.originDir });
  const { ctx, need } = suite;
  let probes = null;
  const probe = () => (probes ??= prober(suite.dir));

  async function fetchOk(url) {
    const res = await get(url);
    assert.equal(res.status, 200, res.describe());
    return res;
  }

  it('creates an HLS_CMAF channel with HLS-CMAF, DASH and HLS (TS) endpoints; its input protocol is fixed', async () => {
    const made = await createChannel(suite.origin, { ...NAMES, protocol: 'HLS_CMAF', endpoints: Object.values(ENDPOINTS) });
    assert.equal(made.channel.protocol, 'HLS_CMAF', JSON.stringify(made.channel));
    const paths = channelPaths(NAMES);
    const patch = await suite.origin.api('PATCH', paths.channel, { protocol: 'HLS' });
    assert.equal(patch.status, 400, show(patch));
    assert.equal(patch.json?.field, 'protocol', show(patch));
    ctx.input = made.input;
    ctx.endpoints = made.endpoints;
  });

  it('the ffmpeg fMP4 push reaches both endpoints; MPEG-TS is refused with 415', async (t) => {
    const input = need('input');
    const endpoints = need('endpoints');
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      fmp4: true,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-fmp4.log'),
    });
    const t0 = Date.now();
    await waitForCmafAndDash({
      cmafUrl: endpoints.cmaf.url,
      dashUrl: endpoints.dash.url,
      videoCount: VIDEO.length,
      segments: READY_SEGMENTS,
      timeoutMs: 45_000,
      encoder: ctx.encoder,
      origin: suite.origin,
    });
    t.diagnostic(`ready after ${Date.now() - t0} ms`);
    const auth = `Basic ${Buffer.from(`${input.username}:${input.password}`).toString('base64')}`;
    const res = await fetch(`${input.url}stream_0/seg_99999.ts`, {
      method: 'PUT',
      headers: { authorization: auth },
      body: new Uint8Array(188).fill(0x47),
    });
    assert.equal(res.status, 415, `PUT of a .ts to an HLS_CMAF input: ${res.status} ${await res.text()}`);
    ctx.ready = true;
  });

  for (const player of ['hls.js', 'shaka']) {
    it(`${player} plays the HLS-CMAF endpoint`, async (t) => {
      need('ready');
      const r = await suite.players.play({ player, url: need('endpoints').cmaf.url, timeoutMs: 25_000 });
      t.diagnostic(playDiagnostic(r));
      assertPlayed(r);
    });
  }

  it('hls.js plays the HLS (TS) endpoint: the fMP4 input muxed to MPEG-TS', async (t) => {
    need('ready');
    const r = await suite.players.play({ player: 'hls.js', url: need('endpoints').ts.url, timeoutMs: 25_000 });
    t.diagnostic(playDiagnostic(r));
    assertPlayed(r);
  });

  it('HLS (TS): every segment decodes with its frames; timestamps and continuity counters run on across segments', async (t) => {
    need('ready');
    t.diagnostic((await checkTsRenditions(need('endpoints').ts.url, { probe: probe(), ...SEGMENT_FRAMES })).join('\n'));
  });

  for (const player of ['dash.js', 'shaka']) {
    it(`${player} plays the DASH endpoint`, async (t) => {
      need('ready');
      const r = await suite.players.play({ player, url: need('endpoints').dash.url, timeoutMs: 30_000 });
      t.diagnostic(playDiagnostic(r));
      assertPlayed(r);
    });
  }

  it('HLS-CMAF: every segment decodes in ffprobe with its frames, and timestamps continue across segments', async (t) => {
    need('ready');
    const { cmaf } = need('endpoints');
    const { master, renditions, text } = await readMaster(cmaf.url);
    assert.deepEqual(checkMaster(master), [], `master playlist rules:\n${text}`);
    assert.equal(master.variants.length, VIDEO.length, `one variant per video rendition:\n${text}`);
    for (const v of master.variants) {
      assert.match(v.attrs.CODECS ?? '', /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/, `CODECS of ${v.uri}:\n${text}`);
    }
    t.diagnostic((await checkCmafRenditions(cmaf.url, { probe: probe(), ...SEGMENT_FRAMES })).join('\n'));
  });

  it('clip.mp4 of the last seconds: one progressive MP4 that decodes at 30 fps with audio', async (t) => {
    need('ready');
    const { cmaf } = need('endpoints');
    const end = Date.now() - 4_000;
    const start = end - 8_000;
    const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const url = `${endpointBase(cmaf.url)}clip.mp4?start=${iso(start)}&end=${iso(end)}`;
    const res = await fetchOk(url);
    const got = await probe().ts(res.body, 'clip', 'mp4');
    assert.equal(got.errors, '', `ffprobe errors for ${url} (${got.file})`);
    const video = got.streams.find((s) => s.codec_type === 'video');
    const audio = got.streams.find((s) => s.codec_type === 'audio');
    assert.ok(video && audio, `video and audio in ${got.file}: ${JSON.stringify(got.streams)}`);
    const frames = Number(video.nb_read_frames);
    assert.ok(frames >= HLS_TIME * FPS && frames % (HLS_TIME * FPS) === 0, `${frames} video frames: whole 2 s segments`);
    t.diagnostic(`${url}: ${res.body.length} bytes, ${frames} video frames, ${audio.nb_read_frames} audio frames`);
  });

  it('DASH: the MPD is well-formed and its newest segments decode', async (t) => {
    need('ready');
    const { dash } = need('endpoints');
    const { lines } = await checkDashRepresentations(dash.url, dash, { probe: probe(), ...SEGMENT_FRAMES, newest: 1 });
    t.diagnostic(lines.join('\n'));
  });
});
