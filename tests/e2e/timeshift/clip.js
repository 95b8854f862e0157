// clip.mp4 on the Worker in workerd, on the shared ~40 s live recording (recording.js: two
// video renditions and a separate AAC rendition): a 20 s window is downloaded as one
// progressive MP4 and checked with ffprobe and a full ffmpeg decode: duration within one
// segment of the window (and equal to the same window's vodend playlist), every frame decodes,
// 30 fps, audio from the audio rendition, one moov before mdat and no moof; the same bytes on
// HLS, HLS-CMAF and DASH.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { get, readMaster, readMedia } from '../lib/endpoint.js';
import { probeFile } from '../lib/probe.js';
import { FPS, HLS_TIME } from '../lib/encoder.js';
import { it, before, recorded, WINDOW_S } from './recording.js';

const run = promisify(execFile);

/** The top-level boxes of an MP4 file: [{ type, offset, size }]. */
function topLevelBoxes(buf) {
  const boxes = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    if (size < 8) throw new Error(`box ${type} at ${at} has size ${size}`);
    boxes.push({ type, offset: at, size });
    at += size;
  }
  assert.equal(at, buf.length, 'top-level boxes cover the file');
  return boxes;
}

describe('clip.mp4 progressive download (workerd, ffmpeg, ffprobe)', () => {
  let live;
  let window;
  let clips = {};

  before(async () => ({ live, window } = await recorded()));

  const clipUrl = (name, extra = '') =>
    `${live.endpoints[name].url.replace(/[^/]+$/, 'clip.mp4')}?start=${window.start}&end=${window.end}${extra}`;

  it('hls: the window as one progressive MP4 that decodes fully', async () => {
    const res = await get(clipUrl('hls'));
    assert.equal(res.status, 200, res.describe());
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    assert.match(res.headers.get('content-disposition'), /^attachment; filename="ch-\d{8}T\d{6}(\.\d{3})?Z\.mp4"$/);
    clips.hls = res.body;

    const boxes = topLevelBoxes(res.body).map((b) => b.type);
    assert.deepEqual(boxes, ['ftyp', 'moov', 'mdat'], 'one moov before mdat, no moof');

    const file = join(live.dir, 'clip.mp4');
    await writeFile(file, res.body);
    const probe = await probeFile(file);
    assert.equal(probe.errors, '', probe.errors);
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { maxBuffer: 16 << 20 });
    assert.equal(stderr.trim(), '', `full decode: ${stderr}`);

    const duration = Number(probe.format.duration);
    assert.ok(Math.abs(duration - WINDOW_S) <= HLS_TIME, `clip lasts ${duration} s for a ${WINDOW_S} s window`);
    // The same segments as the window's vodend playlist.
    const { renditions } = await readMaster(`${live.endpoints.hls.url}?start=${window.start}&vodend=${window.end}`);
    const { playlist } = await readMedia(renditions[0].url);
    const listed = playlist.segments.reduce((s, x) => s + x.duration, 0);
    assert.ok(Math.abs(duration - listed) < 0.1, `clip ${duration} s, vodend playlist ${listed} s`);

    const video = probe.streams.find((s) => s.codec_type === 'video');
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    assert.ok(video && audio, JSON.stringify(probe.streams.map((s) => s.codec_type)));
    assert.equal(video.codec_name, 'h264');
    assert.equal(`${video.width}x${video.height}`, '640x360', 'the highest-bandwidth rendition');
    const frames = Number(video.nb_read_frames);
    assert.ok(Math.abs(frames - FPS * duration) <= 1, `${frames} video frames in ${duration} s`);
    assert.equal(audio.codec_name, 'aac');
    const audioFrames = Number(audio.nb_read_frames);
    const expected = (duration * Number(audio.sample_rate)) / 1024;
    assert.ok(Math.abs(audioFrames - expected) <= 3, `${audioFrames} audio frames, ${expected} expected`);
    console.log(
      `clip: ${res.body.length} bytes, ${duration} s (vodend ${listed} s), ${frames} video frames, ` +
        `${audioFrames} audio frames, start ${video.start_time}/${audio.start_time}`,
    );
  });

  for (const name of ['cmaf', 'dash']) {
    it(`${name}: the same clip bytes on a ${name} endpoint`, async () => {
      const res = await get(clipUrl(name));
      assert.equal(res.status, 200, res.describe());
      assert.ok(clips.hls, 'the hls clip was fetched');
      assert.ok(res.body.equals(clips.hls), `${res.body.length} vs ${clips.hls.length} bytes`);
    });
  }

  it('rendition= picks the 320x180 rendition; bad requests are refused', async () => {
    const res = await get(clipUrl('hls', '&rendition=stream_1'));
    assert.equal(res.status, 200, res.describe());
    const file = join(live.dir, 'clip-320.mp4');
    await writeFile(file, res.body);
    const probe = await probeFile(file);
    assert.equal(probe.errors, '');
    const video = probe.streams.find((s) => s.codec_type === 'video');
    assert.equal(`${video.width}x${video.height}`, '320x180');

    const base = live.endpoints.hls.url.replace(/[^/]+$/, 'clip.mp4');
    const noEnd = await get(`${base}?start=${window.start}`);
    assert.equal(noEnd.status, 400, noEnd.describe());
    assert.match(noEnd.text, /`end`/);
    const long = await get(`${base}?start=${window.start}&end=${new Date(Date.parse(window.start) + 3_600_000).toISOString()}`);
    assert.equal(long.status, 413, long.describe());
    assert.match(long.text, /harvest/);
  });
});
