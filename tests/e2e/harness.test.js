// Self-test of the end-to-end harness without the origin: ffmpeg pushes live HLS by PUT to a
// plain file server, and hls.js and Shaka play it in Chromium. If this fails, the harness (or
// the machine's ffmpeg/Chromium) is broken, not edgepack.
import { describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startFileServer } from './lib/fileserver.js';
import { startEncoder, basicAuth, tail, FPS, HLS_TIME, RENDITIONS } from './lib/encoder.js';
import { startPlayers, summary, MIN_ADVANCE_SECONDS } from './lib/players.js';
import { probeTs, firstPacketIsKey } from './lib/probe.js';
import { parseMaster, parseMedia, checkMedia } from './lib/m3u8.js';
import { tempDir } from './lib/paths.js';
import { trackedTests } from './lib/run.js';

const { it, before, cleanup } = trackedTests();
import { waitFor } from './lib/wait.js';

/** Long enough for the first segments plus two players of ~6 s each. */
const PUSH_SECONDS = 26;
const CREDENTIALS = { username: 'enc', password: 'secret' };

describe('harness self-test (ffmpeg -> file server -> players)', { timeout: 90_000 }, () => {
  let dir, server, encoder, players, base;

  before(async () => {
    dir = await tempDir('harness');
    const root = join(dir, 'www');
    server = await startFileServer({
      root,
      auth: basicAuth(CREDENTIALS.username, CREDENTIALS.password),
    });
    base = `${server.url}/live/`;
    encoder = startEncoder({ base, seconds: PUSH_SECONDS, auth: CREDENTIALS, logFile: join(dir, 'ffmpeg.log') });
    players = await startPlayers();
  });

  after(async () => {
    encoder?.stop();
    await encoder?.done.catch(() => {});
    await players?.close();
    await server?.close();
    await cleanup(dir);
  });

  async function playlist(path) {
    const res = await fetch(base + path);
    return res.ok ? res.text() : null;
  }

  it('ffmpeg PUTs master, rendition playlists and segments with Basic auth', async () => {
    await waitFor(
      'three segments in every rendition',
      async () => {
        for (const r of RENDITIONS) {
          const text = await playlist(`stream_${r.id}/index.m3u8`);
          if (!text || parseMedia(text).segments.length < 3) return false;
        }
        return true;
      },
      { timeoutMs: 20_000 },
    ).catch((err) => assert.fail(`${err.message}\nffmpeg log:\n${tail(encoder.log())}`));
    const puts = server.requests.filter((r) => r.method === 'PUT');
    const paths = new Set(puts.map((r) => r.path));
    for (const p of ['/live/master.m3u8', '/live/stream_0/index.m3u8', '/live/stream_1/index.m3u8', '/live/stream_2/index.m3u8', '/live/stream_0/seg_00000.ts']) {
      assert.ok(paths.has(p), `no PUT of ${p}; PUTs seen: ${[...paths].join(' ')}`);
    }
    const expected = basicAuth(CREDENTIALS.username, CREDENTIALS.password);
    const unauthorized = puts.filter((r) => r.authorization !== expected);
    assert.deepEqual(unauthorized, [], 'every PUT carries the Basic credentials');
    const master = parseMaster(await playlist('master.m3u8'));
    assert.equal(master.variants.filter((v) => v.attrs.RESOLUTION).length, 2, 'two video variants');
  });

  it('segments decode fully with ffprobe', async () => {
    const pl = parseMedia(await playlist('stream_0/index.m3u8'));
    assert.deepEqual(checkMedia(pl), []);
    const seg = pl.segments[0];
    const bytes = Buffer.from(await (await fetch(base + `stream_0/${seg.uri}`)).arrayBuffer());
    const probe = await probeTs(bytes, dir);
    assert.equal(probe.errors, '');
    const video = probe.streams.find((s) => s.codec_type === 'video');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(`${video.width}x${video.height}`, '640x360');
    assert.equal(Number(video.nb_read_frames), Math.round(seg.duration * FPS));
    assert.equal(Math.round(seg.duration), HLS_TIME);
    assert.ok(firstPacketIsKey(probe), 'segment starts with a key frame');
  });

  for (const player of ['hls.js', 'shaka']) {
    it(`${player} plays the live master`, async (t) => {
      const r = await players.play({ player, url: `${base}master.m3u8`, timeoutMs: 20_000 });
      t.diagnostic(`currentTime ${r.startCurrentTime?.toFixed(2)} -> ${r.currentTime?.toFixed(2)}, ${r.frames} frames, non-fatal: ${JSON.stringify(r.warnings)}`);
      assert.deepEqual(r.fatal, [], summary(r));
      assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `currentTime advanced ${r.advanced} s\n${summary(r)}`);
      assert.ok(r.frames > 0, `decoded frames ${r.frames}\n${summary(r)}`);
    });
  }
});
