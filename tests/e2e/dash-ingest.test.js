// DASH and CMAF input (DASH-IF Live Media Ingest interface 1) on both real runtimes (the built
// Worker in workerd; the Spin component in the repository's wasmtime host):
// - Debian's ffmpeg pushes low-latency DASH (`-streaming 1 -ldash 1`: one chunked PUT per
//   segment, held open for its duration) and, on the Worker, plain DASH (whole segments); the
//   channel's HLS (TS), HLS-CMAF and DASH endpoints play in hls.js, Shaka and dash.js, and
//   ffprobe decodes every segment they serve with timestamps that continue across segments;
// - lib/cmaf-sender.js sends the same CMAF tracks to both inputs of a CMAF channel; input 1
//   stops, the output continues from input 2 with no discontinuity while hls.js plays;
// - the ingest status codes, one request each, and a cut-off chunked upload, none of which
//   changes what the endpoints serve.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { startDashEncoder, basicAuth, DASH_LANGUAGE, AUDIO_BITRATE, FPS, HLS_TIME, RENDITIONS } from './lib/encoder.js';
import { startCmafSender, recordCmafTracks, trackPath, TRACKS } from './lib/cmaf-sender.js';
import { assertPlayed, playDiagnostic } from './lib/players.js';
import { prober } from './lib/probe.js';
import { checkMaster } from './lib/m3u8.js';
import { get, readMaster, readMedia, monitorLive } from './lib/endpoint.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { createChannel, waitForCmafAndDash } from './lib/packaging-channel.js';
import { endpointBase, renditionDir } from './lib/packaging-hls.js';
import { readMpd, representations } from './lib/packaging-mpd.js';
import { checkCmafRenditions, checkDashRepresentations, checkTsRenditions } from './lib/served-segments.js';
import { channelPaths, show } from './lib/api.js';
import { startOrigin } from './lib/origin.js';
import { startSpinOrigin } from './lib/spin-host.js';
import { sleep, waitFor } from './lib/wait.js';

const tests = trackedTests();
const { it } = tests;

/** Far longer than the checks need: every push is stopped when its checks are done. */
const PUSH_SECONDS = 180;
/** Input segments every rendition lists before the checks start (3 target durations). */
const READY_SEGMENTS = 3;
/**
 * Before the failover's playlists are watched: one more, as the first audio segment is short
 * (1.963 s: the AAC encoder delay), so three of them hold less than 3 target durations.
 */
const FAILOVER_READY_SEGMENTS = READY_SEGMENTS + 1;
const READY_TIMEOUT_MS = 45_000;
/** What ffprobe must find in every served segment (lib/served-segments.js). */
const SEGMENT_FRAMES = { videoFrames: HLS_TIME * FPS, fps: FPS };
const VIDEO = RENDITIONS.filter((r) => r.kind === 'video');
/** The CMAF channel's failover timeout (s): small so the test is short, above HLS_TIME. */
const MAX_SEGMENT_DURATION = 4;
/** hls.js plays this long before input 1 stops (it has started by then on a busy machine). */
const PLAY_BEFORE_STOP_MS = 6_000;
/** Silence beyond max_segment_duration, then up to a segment until input 2's next, plus slack. */
const SWITCH_TIMEOUT_MS = (MAX_SEGMENT_DURATION + 2 * HLS_TIME) * 1000 + 8_000;
/** hls.js must advance this far, across the switch. */
const PLAY_THROUGH_SECONDS = 16;
/** A cut-off upload has reached the origin after this long; its request has ended after the next. */
const CUT_AFTER_MS = 300;
const SETTLE_MS = 1_000;

const GROUP = 'di-group';
/** Endpoints of the pushed channels: windows wide enough to hold the failover's switch point. */
const ENDPOINTS = [
  { name: 'cmaf', protocol: 'HLS_CMAF', segment_count: 10 },
  { name: 'dash', protocol: 'DASH', manifest_window: 20 },
  { name: 'ts', protocol: 'HLS', segment_count: 10 },
];
/** The channels: `full` ones exist on the Worker only. */
const CHANNELS = {
  ldash: { protocol: 'DASH', endpoints: ENDPOINTS },
  plain: { protocol: 'DASH', endpoints: ENDPOINTS.slice(0, 2), full: true },
  cmaf: { protocol: 'CMAF', endpoints: ENDPOINTS, settings: { max_segment_duration: MAX_SEGMENT_DURATION } },
  codes: { protocol: 'CMAF', endpoints: ENDPOINTS.slice(0, 2) },
};
/** Renditions of ffmpeg's DASH push to `live/manifest.mpd` (ffmpeg's names, directory kept). */
const LDASH_MPD = 'live/manifest.mpd';
const LDASH_RENDITIONS = ['live/stream0', 'live/stream1', 'live/stream2'];

const PLATFORMS = [
  { name: 'the Worker (workerd)', dir: 'dash-ingest-worker', start: startOrigin, originDir: 'origin', full: true, timeout: 360_000 },
  { name: 'the Spin component (wasmtime host)', dir: 'dash-ingest-spin', start: startSpinOrigin, originDir: 'host', full: false, timeout: 240_000 },
];

/** The bits per second of an ffmpeg bitrate option ('800k'). */
const bps = (option) => Number(option.replace(/k$/, '')) * 1000;

/** An upload by POST with Basic credentials: { status, text, headers }. */
async function upload(url, { username, password }, body) {
  const res = await fetch(url, { method: 'POST', headers: { authorization: basicAuth(username, password) }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** A copy of a media segment whose first track fragment names another track (`tfhd` track_ID). */
function withTrackId(segment, trackId) {
  const copy = Buffer.from(segment);
  const at = copy.indexOf('tfhd');
  assert.ok(at > 0, 'no tfhd box in the segment');
  // box type, then version and flags (4 bytes), then track_ID (ISO/IEC 14496-12 8.8.7).
  copy.writeUInt32BE(trackId, at + 8);
  return copy;
}

/**
 * Starts a chunked POST of the first half of `bytes` and destroys the socket `CUT_AFTER_MS`
 * later, as an encoder that dies mid-upload. Resolves with the status if the origin answered
 * before the cut (it should not), else null.
 */
function cutOffUpload(url, { username, password }, bytes) {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST',
      headers: { authorization: basicAuth(username, password), 'transfer-encoding': 'chunked' },
    });
    let status = null;
    req.on('response', (res) => {
      status = res.statusCode;
      res.resume();
    });
    req.on('error', () => {}); // the socket we destroy
    req.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    setTimeout(() => {
      req.destroy();
      resolve(status);
    }, CUT_AFTER_MS);
  });
}

/**
 * What a channel's endpoints serve, as text to compare: the HLS-CMAF master and every media
 * playlist, and per DASH representation its initialization and SegmentTimeline (the MPD's
 * publishTime moves with the clock).
 */
async function servedState(endpoints) {
  const { text, renditions } = await readMaster(endpoints.cmaf.url);
  const lines = [text];
  for (const url of new Set(renditions.map((r) => r.url))) lines.push(url, (await readMedia(url)).text);
  const mpd = await get(endpoints.dash.url);
  assert.equal(mpd.status, 200, mpd.describe());
  for (const [period, r] of representations(readMpd(mpd.text))) {
    lines.push(`${period}/${r.id} ${r.initialization} ${r.segments.map((s) => `${s.t}+${s.d}`).join(' ')}`);
  }
  return lines.join('\n');
}

for (const platform of PLATFORMS) describe(`DASH and CMAF input on ${platform.name}`, { timeout: platform.timeout }, () => {
  const suite = originSuite(tests, platform.dir, {
    start: platform.start,
    originDir: platform.originDir,
    stop: async (ctx) => {
      for (const push of [ctx.ldash, ctx.plain, ctx.sender]) {
        push?.stop();
        await push?.done.catch(() => {});
      }
    },
  });
  const { ctx, need } = suite;
  let probes = null;
  const probe = () => (probes ??= prober(suite.dir));
  const channels = Object.entries(CHANNELS).filter(([, c]) => platform.full || !c.full);

  /** Stops a push of ctx and waits for its process. */
  async function stopPush(key) {
    ctx[key]?.stop();
    await ctx[key]?.done.catch(() => {});
  }

  it(`creates ${channels.map(([name, c]) => `${name} (${c.protocol})`).join(', ')} channels with their endpoints`, async () => {
    ctx.channels = {};
    for (const [name, c] of channels) {
      const made = await createChannel(suite.origin, { group: GROUP, channel: name, ...c });
      assert.equal(made.channel.protocol, c.protocol, JSON.stringify(made.channel));
      ctx.channels[name] = { ...made, inputs: made.channel.inputs };
    }
  });

  // --- a. ffmpeg's low-latency DASH push ------------------------------------------------------

  it('ffmpeg pushes low-latency DASH (-streaming 1 -ldash 1, chunked PUTs held open); every endpoint lists its renditions', async (t) => {
    const { input, endpoints } = need('channels').ldash;
    ctx.ldash = startDashEncoder({
      mpd: `${input.url}${LDASH_MPD}`,
      seconds: PUSH_SECONDS,
      streaming: true,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-ldash.log'),
    });
    const t0 = Date.now();
    await waitForCmafAndDash({
      cmafUrl: endpoints.cmaf.url,
      dashUrl: endpoints.dash.url,
      videoCount: VIDEO.length,
      segments: READY_SEGMENTS,
      timeoutMs: READY_TIMEOUT_MS,
      encoder: ctx.ldash,
      origin: suite.origin,
    });
    t.diagnostic(`ready after ${Date.now() - t0} ms`);
    const { renditions, text } = await readMaster(endpoints.cmaf.url);
    const dirs = [...new Set(renditions.map((r) => renditionDir(r.url, endpointBase(endpoints.cmaf.url))))].sort();
    assert.deepEqual(dirs, LDASH_RENDITIONS, `renditions of ffmpeg's names below live/:\n${text}`);
    ctx.ldashReady = true;
  });

  it("the masters take the encoder's MPD: declared bandwidths, codecs, resolutions, the audio language", async () => {
    need('ldashReady');
    const { endpoints } = need('channels').ldash;
    const audio = bps(AUDIO_BITRATE);
    for (const endpoint of [endpoints.cmaf, endpoints.ts]) {
      const { master, text } = await readMaster(endpoint.url);
      assert.deepEqual(checkMaster(master), [], `master playlist rules:\n${text}`);
      const got = master.variants.map((v) => [v.attrs.RESOLUTION, Number(v.attrs.BANDWIDTH)]);
      const want = VIDEO.map((r) => [`${r.width}x${r.height}`, bps(r.bitrate) + audio]);
      assert.deepEqual(got, want, `variants: RESOLUTION and BANDWIDTH as the MPD declares them (video + audio):\n${text}`);
      for (const v of master.variants) {
        assert.match(v.attrs.CODECS ?? '', /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/, `CODECS of ${v.uri}:\n${text}`);
      }
      const media = master.media.filter((m) => m.TYPE === 'AUDIO');
      assert.equal(media.length, 1, `one audio rendition:\n${text}`);
      assert.match(media[0].LANGUAGE ?? '', new RegExp(`^(${DASH_LANGUAGE}|${DASH_LANGUAGE.slice(0, 2)})$`), `LANGUAGE of the MPD's lang="${DASH_LANGUAGE}":\n${text}`);
    }
  });

  /** One test per [player, endpoint] of `channel` ('full' ones on the Worker only), once `ready`. */
  function plays(channel, source, ready, list) {
    const name = { cmaf: 'HLS-CMAF', ts: 'HLS (TS)', dash: 'DASH' };
    for (const [player, endpoint] of list.filter(([, , full]) => platform.full || !full)) {
      it(`${player} plays the ${name[endpoint]} endpoint of the ${source}`, async (t) => {
        need(ready);
        const r = await suite.players.play({ player, url: need('channels')[channel].endpoints[endpoint].url, timeoutMs: 30_000 });
        t.diagnostic(playDiagnostic(r));
        assertPlayed(r);
      });
    }
  }

  plays('ldash', 'DASH push', 'ldashReady', [
    ['hls.js', 'cmaf'],
    ['shaka', 'cmaf', 'full'],
    ['hls.js', 'ts'],
    ['dash.js', 'dash'],
    ['shaka', 'dash', 'full'],
  ]);

  it('DASH push: every HLS-CMAF, HLS (TS) and DASH segment decodes in ffprobe with its frames, timestamps continuous', async (t) => {
    need('ldashReady');
    const { endpoints } = need('channels').ldash;
    const lines = [
      ...(await checkCmafRenditions(endpoints.cmaf.url, { probe: probe(), ...SEGMENT_FRAMES })),
      ...(await checkTsRenditions(endpoints.ts.url, { probe: probe(), ...SEGMENT_FRAMES })),
      ...(await checkDashRepresentations(endpoints.dash.url, endpoints.dash, { probe: probe(), ...SEGMENT_FRAMES })).lines,
    ];
    t.diagnostic(lines.join('\n'));
    await stopPush('ldash');
  });

  // --- b. a plain DASH push (whole segments), on the Worker ------------------------------------

  if (platform.full) {
    it('ffmpeg pushes plain DASH (-f dash -method PUT, whole segments): shaka plays HLS-CMAF, every segment decodes', async (t) => {
      await stopPush('ldash');
      const { input, endpoints } = need('channels').plain;
      ctx.plain = startDashEncoder({
        mpd: `${input.url}manifest.mpd`,
        seconds: PUSH_SECONDS,
        auth: { username: input.username, password: input.password },
        logFile: join(suite.dir, 'ffmpeg-plain.log'),
      });
      await waitForCmafAndDash({
        cmafUrl: endpoints.cmaf.url,
        dashUrl: endpoints.dash.url,
        videoCount: VIDEO.length,
        segments: READY_SEGMENTS,
        timeoutMs: READY_TIMEOUT_MS,
        encoder: ctx.plain,
        origin: suite.origin,
      });
      const r = await suite.players.play({ player: 'shaka', url: endpoints.cmaf.url, timeoutMs: 30_000 });
      t.diagnostic(playDiagnostic(r));
      assertPlayed(r);
      t.diagnostic((await checkCmafRenditions(endpoints.cmaf.url, { probe: probe(), ...SEGMENT_FRAMES })).join('\n'));
      await stopPush('plain');
    });
  }

  // --- c. CMAF ingest to both inputs; input 1 stops ---------------------------------------------

  it('the CMAF sender posts the same tracks to both inputs of a CMAF channel; both are stored', async (t) => {
    await stopPush('ldash');
    await stopPush('plain');
    const { channel, endpoints } = need('channels').cmaf;
    const dir = join(suite.dir, 'cmaf-sender');
    await mkdir(dir);
    ctx.sender = startCmafSender({
      dir,
      seconds: PUSH_SECONDS,
      inputs: { 1: channel.inputs[0], 2: channel.inputs[1] },
      logFile: join(suite.dir, 'ffmpeg-cmaf-sender.log'),
    });
    await waitForCmafAndDash({
      cmafUrl: endpoints.cmaf.url,
      dashUrl: endpoints.dash.url,
      videoCount: VIDEO.length,
      segments: FAILOVER_READY_SEGMENTS,
      timeoutMs: READY_TIMEOUT_MS,
      encoder: ctx.sender.ffmpeg,
      origin: suite.origin,
    });
    const refused = ctx.sender.uploads.filter((u) => u.status !== 201);
    assert.deepEqual(refused, [], `every upload stored (201):\n${ctx.sender.describe()}`);
    for (const input of [1, 2]) {
      const sent = ctx.sender.sent(input);
      for (const track of TRACKS) assert.ok(sent[track.name] >= FAILOVER_READY_SEGMENTS, `input ${input}: ${JSON.stringify(sent)}`);
    }
    const status = await suite.origin.api('GET', `${channelPaths({ group: GROUP, channel: 'cmaf' }).channel}/status`);
    assert.equal(status.status, 200, show(status));
    assert.equal(status.json.active_input, 1, show(status));
    assert.deepEqual(status.json.inputs.map((i) => i.healthy), [true, true], show(status));
    t.diagnostic(ctx.sender.describe());
    ctx.senderReady = true;
  });

  it('input 1 stops: after max_segment_duration the output continues from input 2 with no discontinuity while hls.js plays', async (t) => {
    need('senderReady');
    const { endpoints } = need('channels').cmaf;
    const statusPath = `${channelPaths({ group: GROUP, channel: 'cmaf' }).channel}/status`;
    const urls = [];
    for (const endpoint of [endpoints.cmaf, endpoints.ts]) {
      urls.push(...new Set((await readMaster(endpoint.url)).renditions.map((r) => r.url)));
    }
    const monitor = monitorLive(urls);
    ctx.monitor = monitor;
    const playing = suite.players.play({
      player: 'hls.js',
      url: endpoints.cmaf.url,
      minAdvance: PLAY_THROUGH_SECONDS,
      timeoutMs: PLAY_BEFORE_STOP_MS + SWITCH_TIMEOUT_MS + PLAY_THROUGH_SECONDS * 1000,
    });
    await sleep(PLAY_BEFORE_STOP_MS);
    ctx.sender.stopInput(1);
    const stoppedMs = Date.now();
    const switched = await waitFor(
      'the channel to switch to input 2',
      async () => {
        const res = await suite.origin.api('GET', statusPath);
        return res.json?.active_input === 2 ? res.json : null;
      },
      { timeoutMs: SWITCH_TIMEOUT_MS, intervalMs: 250 },
    );
    const switchedMs = Date.now();
    const r = await playing;
    await monitor.stop();
    ctx.monitor = null;
    t.diagnostic(`input 1 stopped; switch seen ${switchedMs - stoppedMs} ms later: ${JSON.stringify(switched.switches.at(-1))}`);
    t.diagnostic(playDiagnostic(r));
    const record = switched.switches.at(-1);
    assert.equal(record.input, 2, JSON.stringify(switched));
    assert.equal(record.discontinuity, false, `the switch between aligned inputs is marked as a discontinuity: ${JSON.stringify(switched)}`);
    assertPlayed(r);
    assert.ok(r.startWallMs < stoppedMs && r.nowMs > switchedMs, `hls.js played from ${r.startWallMs} to ${r.nowMs}, not across the stop (${stoppedMs}) and the switch (${switchedMs})`);
    assert.deepEqual(monitor.violations, [], 'playlist rules across the switch');
    const marked = [];
    for (const [url, list] of monitor.history) {
      for (const pl of list) {
        if (pl.discontinuitySequence !== 0) marked.push(`${url}: EXT-X-DISCONTINUITY-SEQUENCE ${pl.discontinuitySequence}`);
        for (const s of pl.segments.filter((x) => x.discontinuity)) marked.push(`${url}: EXT-X-DISCONTINUITY before ${s.uri}`);
      }
    }
    assert.deepEqual([...new Set(marked)], [], 'no discontinuity in any playlist through the switch');
    ctx.switchSequence = record.from_sequence;
  });

  it('across the switch: every HLS-CMAF, HLS (TS) and DASH segment decodes with continuous timestamps; one DASH Period', async (t) => {
    const from = need('switchSequence');
    const { endpoints } = need('channels').cmaf;
    // The windows must hold segments from both inputs, or the check proves nothing.
    const { renditions } = await readMaster(endpoints.ts.url);
    const { playlist, text } = await readMedia(renditions[0].url);
    const seqs = playlist.segments.map((s) => s.sequence);
    assert.ok(seqs[0] < from && seqs.at(-1) > from, `the window ${seqs[0]}..${seqs.at(-1)} spans the switch at ${from}:\n${text}`);
    const dash = await checkDashRepresentations(endpoints.dash.url, endpoints.dash, { probe: probe(), ...SEGMENT_FRAMES });
    assert.equal(dash.mpd.periods.length, 1, `one Period across an aligned switch:\n${dash.mpd.text}`);
    const lines = [
      ...(await checkCmafRenditions(endpoints.cmaf.url, { probe: probe(), ...SEGMENT_FRAMES })),
      ...(await checkTsRenditions(endpoints.ts.url, { probe: probe(), ...SEGMENT_FRAMES })),
      ...dash.lines,
    ];
    t.diagnostic(`switch at output segment ${from}\n${lines.join('\n')}`);
  });

  // The CMAF input feeds every endpoint type in every player (hls.js on HLS-CMAF played above).
  plays('cmaf', 'CMAF input', 'switchSequence', [
    ['shaka', 'cmaf', 'full'],
    ['hls.js', 'ts'],
    ['dash.js', 'dash'],
  ]);

  it('the CMAF sender stops', async () => {
    await stopPush('sender');
  });

  // --- d. status codes and refused uploads --------------------------------------------------

  it('ingest status codes, one request each (201, 200, 400, 401, 403, 404, 412, 415); refusals change nothing served', async (t) => {
    const { channel, endpoints } = need('channels').codes;
    const input = channel.inputs[0];
    const dir = join(suite.dir, 'cmaf-tracks');
    await mkdir(dir);
    const tracks = await recordCmafTracks({ dir, seconds: 3 * HLS_TIME, logFile: join(suite.dir, 'ffmpeg-cmaf-tracks.log') });
    const [video] = tracks;
    const at = (path) => `${input.url}${path}`;
    const stored = [];
    for (const track of tracks) {
      stored.push(await upload(at(trackPath(track, null, 'directory')), input, track.init));
      for (const n of [1, 2]) stored.push(await upload(at(trackPath(track, n, 'directory')), input, track.segments[n - 1]));
    }
    assert.deepEqual(stored.map((r) => r.status), Array(stored.length).fill(201), stored.map((r) => `${r.status} ${r.text}`).join('\n'));
    const before = await servedState(endpoints);
    ctx.codesState = before;
    ctx.codesTracks = tracks;

    const { ldash } = need('channels');
    const wrong = { username: input.username, password: `${input.password}x` };
    // Four MPEG-TS null packets (PID 0x1FFF).
    const ts = Buffer.concat(Array(4).fill(Buffer.concat([Buffer.from([0x47, 0x1f, 0xff, 0x10]), Buffer.alloc(184, 0xff)])));
    const rows = [
      ['unknown channel', 404, () => upload(`${new URL(input.url).origin}/in/v1/${GROUP}/no-such-channel/1/video_0/3.cmfv`, input, video.segments[2])],
      ['CMAF channel, wrong password', 403, () => upload(at('video_0/3.cmfv'), wrong, video.segments[2])],
      ['DASH channel, wrong password', 401, () => upload(`${ldash.input.url}live/chunk-stream0-99999.m4s`, { ...ldash.input, password: 'wrong' }, video.segments[2])],
      ["media segment before its track's init segment", 412, () => upload(at('video_9/1.cmfv'), input, video.segments[2])],
      ['MPEG-TS bytes as a CMAF segment', 415, () => upload(at('video_0/3.cmfv'), input, ts)],
      ['a .ts file', 415, () => upload(at('video_0/3.ts'), input, video.segments[2])],
      ['an HLS playlist to a DASH channel', 415, () => upload(`${ldash.input.url}live/index.m3u8`, ldash.input, '#EXTM3U\n')],
      ['truncated init segment', 400, () => upload(at('video_0/init.cmfi'), input, video.init.subarray(0, video.init.length >> 1))],
      ['media segment its init cannot read (another track_ID)', 400, () => upload(at('video_0/3.cmfv'), input, withTrackId(video.segments[2], 7))],
      ['a bare file name, no track', 400, () => upload(at('3.cmfv'), input, video.segments[2])],
      ['a repeat of a committed segment', 200, () => upload(at('video_0/2.cmfv'), input, video.segments[1])],
    ];
    const got = [];
    for (const [what, , send] of rows) {
      const r = await send();
      got.push(`${what}: ${r.status} ${r.text.slice(0, 160)}`);
    }
    const want = rows.map(([what, status]) => `${what}: ${status}`);
    assert.deepEqual(got.map((g) => g.replace(/^(.*?: \d+).*$/s, '$1')), want, got.join('\n'));
    t.diagnostic(got.join('\n'));
    assert.equal(await servedState(endpoints), before, 'what the endpoints serve after the refused uploads and the repeat');
  });

  it('a cut-off chunked upload leaves the served state unchanged; the next complete upload is stored', async () => {
    const before = need('codesState');
    const [video] = need('codesTracks');
    const { channel, endpoints } = need('channels').codes;
    const input = channel.inputs[0];
    const url = `${input.url}video_0/3.cmfv`;
    const early = await cutOffUpload(url, input, video.segments[2]);
    assert.equal(early, null, 'the origin answered a request whose body had not ended');
    await sleep(SETTLE_MS);
    assert.equal(await servedState(endpoints), before, 'what the endpoints serve after the cut-off upload');
    const r = await upload(url, input, video.segments[2]);
    assert.equal(r.status, 201, r.text);
    const { renditions } = await readMaster(endpoints.cmaf.url);
    const playlist = (await readMedia(renditions.find((x) => x.url.includes('/video_0/')).url)).playlist;
    assert.equal(playlist.segments.length, 3, `video_0 lists the third segment:\n${JSON.stringify(playlist.segments)}`);
  });
});
