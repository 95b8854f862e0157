// Time-shifted HLS playback on the Worker in workerd (issue 7), on the shared ~40 s live
// recording (recording.js): a `vodend` window of 20 s is played to its end by hls.js and Shaka
// in Chromium, on an HLS (TS) and an HLS-CMAF endpoint; its duration must match the window
// within one segment.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { summary } from '../lib/players.js';
import { get, readMaster, readMedia } from '../lib/endpoint.js';
import { HLS_TIME } from '../lib/encoder.js';
import { it, before, recorded, WINDOW_S } from './recording.js';

describe('time-shifted HLS windows (workerd, ffmpeg, hls.js, Shaka)', () => {
  let live, players, window;
  before(async () => ({ live, window, players } = await recorded({ players: true })));

  const vodUrl = (name) => `${live.endpoints[name].url}?start=${window.start}&vodend=${window.end}`;

  for (const name of ['hls', 'cmaf']) {
    it(`${name}: a vodend window is a VOD playlist of the window's duration`, async () => {
      const { renditions, text } = await readMaster(vodUrl(name));
      assert.ok(renditions.length >= 2, text);
      for (const r of renditions) {
        assert.match(r.url, /vodend=/, `${r.url} carries the window`);
        const { playlist, text: media } = await readMedia(r.url);
        assert.ok(playlist.endList, media);
        assert.match(media, /#EXT-X-PLAYLIST-TYPE:VOD/);
        const total = playlist.segments.reduce((s, x) => s + x.duration, 0);
        assert.ok(Math.abs(total - WINDOW_S) <= HLS_TIME, `${r.url}: ${total} s for a ${WINDOW_S} s window\n${media}`);
        for (const s of playlist.segments) {
          assert.match(s.uri, /vodend=/, `${s.uri} carries the window`);
          const res = await get(new URL(s.uri, r.url).href);
          assert.equal(res.status, 200, res.describe());
        }
      }
    });

    for (const player of ['hls.js', 'shaka']) {
      it(`${name}: ${player} plays the window to its end`, async (t) => {
        const r = await players.play({ player, url: vodUrl(name), untilEnded: true, rate: 4, timeoutMs: 45_000 });
        t.diagnostic(`${player} ${name}: duration ${r.duration} s, ended at ${r.currentTime} s, ${r.frames} frames`);
        assert.deepEqual(r.fatal, [], summary(r));
        assert.ok(r.ended, `not ended: ${summary(r)}`);
        assert.ok(Math.abs(r.duration - WINDOW_S) <= HLS_TIME, `duration ${r.duration}: ${summary(r)}`);
        assert.ok(r.currentTime >= r.duration - 0.5, summary(r));
      });
    }
  }

  it('pdt: hls.js plays a window whose playlists carry program date times to its end', async (t) => {
    const r = await players.play({ player: 'hls.js', url: vodUrl('pdt'), untilEnded: true, rate: 4, timeoutMs: 45_000 });
    t.diagnostic(`hls.js pdt: duration ${r.duration} s, ended at ${r.currentTime} s, ${r.frames} frames`);
    assert.deepEqual(r.fatal, [], summary(r));
    assert.ok(r.ended, `not ended: ${summary(r)}`);
    assert.ok(Math.abs(r.duration - WINDOW_S) <= HLS_TIME, `duration ${r.duration}: ${summary(r)}`);
  });

  it('start and offset together are refused; a window outside retention is a 404 naming the range', async () => {
    const both = await get(`${live.endpoints.hls.url}?start=${window.start}&offset=10`);
    assert.equal(both.status, 400, both.describe());
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const outside = await get(`${live.endpoints.hls.url}?start=${old}&vodend=${new Date(Date.parse(old) + 20_000).toISOString()}`);
    assert.equal(outside.status, 404, outside.describe());
  });
});
