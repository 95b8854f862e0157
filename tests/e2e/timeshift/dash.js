// Time-shifted DASH playback on the Worker in workerd, on the shared ~40 s live recording
// (recording.js): a `vodend` window of 20 s is a static MPD that Shaka and dash.js play to its
// end in Chromium (its duration must match the window within one segment), and an `offset`
// MPD, the live presentation moved behind the edge, plays in Shaka and dash.js.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { summary } from '../lib/players.js';
import { get } from '../lib/endpoint.js';
import { HLS_TIME } from '../lib/encoder.js';
import { it, before, recorded, WINDOW_S } from './recording.js';

/** Seconds of recording before the `offset` presentation's live edge. */
const OFFSET_EDGE_S = 24;

/** The value of `name="..."` on the first element that has it. */
const attr = (xml, name) => xml.match(new RegExp(` ${name}="([^"]*)"`))?.[1];
/** Seconds of an `xs:duration` as the origin writes it (`PT{s}.{ms}S`). */
const seconds = (d) => Number.parseFloat(d.replace(/^PT/, '').replace(/S$/, ''));

/** Every Representation: its template URLs and `(t, d)` list, with the Period's start. */
function representations(mpd) {
  const out = [];
  for (const period of mpd.split('<Period ').slice(1)) {
    const periodStart = seconds(attr(period, 'start'));
    for (const rep of period.split('<Representation ').slice(1)) {
      const tpl = rep.split('<SegmentTemplate')[1];
      const segments = [];
      let next = 0;
      for (const s of tpl.split('<S ').slice(1)) {
        const el = ` ${s.split('/>')[0]}`;
        const t = attr(el, 't') !== undefined ? Number(attr(el, 't')) : next;
        const d = Number(attr(el, 'd'));
        const r = Number(attr(el, 'r') ?? 0);
        for (let k = 0; k <= r; k++) segments.push([t + k * d, d]);
        next = t + (r + 1) * d;
      }
      out.push({
        id: attr(rep, 'id'),
        periodStart,
        timescale: Number(attr(tpl, 'timescale')),
        pto: Number(attr(tpl, 'presentationTimeOffset')),
        init: attr(tpl, 'initialization').replaceAll('&amp;', '&'),
        media: attr(tpl, 'media').replaceAll('&amp;', '&'),
        segments,
      });
    }
  }
  return out;
}

describe('time-shifted DASH (workerd, ffmpeg, Shaka, dash.js)', () => {
  let live, players, window;
  before(async () => ({ live, window, players } = await recorded({ players: true })));

  const vodUrl = () => `${live.endpoints.dash.url}?start=${window.start}&vodend=${window.end}`;

  it('a vodend window is a static MPD of the window, every URL carrying it', async () => {
    const res = await get(vodUrl());
    assert.equal(res.status, 200, res.describe());
    const mpd = res.text;
    assert.equal(attr(mpd, 'type'), 'static', mpd);
    assert.doesNotMatch(mpd, /availabilityStartTime|minimumUpdatePeriod|UTCTiming/);
    const duration = seconds(attr(mpd, 'mediaPresentationDuration'));
    assert.ok(Math.abs(duration - WINDOW_S) <= HLS_TIME, `${duration} s for a ${WINDOW_S} s window\n${mpd}`);
    const reps = representations(mpd);
    assert.ok(reps.length >= 3, `two video and an audio representation\n${mpd}`);
    let longest = 0;
    for (const r of reps) {
      assert.match(r.init, /vodend=/);
      assert.match(r.media, /vodend=/);
      const [t, d] = r.segments.at(-1);
      longest = Math.max(longest, r.periodStart + (t + d - r.pto) / r.timescale);
      // The first and the last segment of each are served (ffprobe checks all in the Rust suite).
      for (const [time] of [r.segments[0], r.segments.at(-1)]) {
        const url = new URL(r.media.replace('$Time$', String(time)), live.endpoints.dash.url).href;
        const seg = await get(url);
        assert.equal(seg.status, 200, seg.describe());
      }
      const init = await get(new URL(r.init, live.endpoints.dash.url).href);
      assert.equal(init.status, 200, init.describe());
    }
    assert.ok(Math.abs(duration - longest) <= 0.001, `duration ${duration} vs listed ${longest}`);
  });

  for (const player of ['shaka', 'dash.js']) {
    it(`${player} plays the vodend window to its end`, async () => {
      const r = await players.play({ player, url: vodUrl(), untilEnded: true, rate: 4, timeoutMs: 45_000 });
      assert.deepEqual(r.fatal, [], summary(r));
      assert.ok(r.ended, `not ended: ${summary(r)}`);
      assert.ok(Math.abs(r.duration - WINDOW_S) <= HLS_TIME, `duration ${r.duration}: ${summary(r)}`);
      assert.ok(r.currentTime >= r.duration - 0.5, summary(r));
      assert.ok(r.frames > 0, summary(r));
      console.log(`# ${player}: duration ${r.duration.toFixed(3)} s, ended at ${r.currentTime.toFixed(3)} s`);
    });
  }

  /** `offset` for an edge OFFSET_EDGE_S into the recording, whatever time has passed. */
  const offsetNow = () => Math.ceil((Date.now() - live.pushStartMs) / 1000) - OFFSET_EDGE_S;

  it('an offset MPD is the live presentation moved behind the edge', async () => {
    const offset = offsetNow();
    assert.ok(offset > 0, `offset ${offset}`);
    const res = await get(`${live.endpoints.dash.url}?offset=${offset}`);
    assert.equal(res.status, 200, res.describe());
    const mpd = res.text;
    assert.equal(attr(mpd, 'type'), 'dynamic');
    assert.equal(attr(mpd, 'availabilityStartTime'), new Date(offset * 1000).toISOString(), mpd);
    const edgeMs = Date.now() - offset * 1000;
    for (const r of representations(mpd)) {
      assert.match(r.media, new RegExp(`offset=${offset}`));
      const [t, d] = r.segments.at(-1);
      const endMs = (r.periodStart + (t + d - r.pto) / r.timescale) * 1000;
      assert.ok(endMs <= edgeMs + 1000, `${r.id} ends ${(endMs - edgeMs) / 1000} s past the edge`);
      assert.ok(endMs >= edgeMs - 3 * HLS_TIME * 1000, `${r.id} ends ${(edgeMs - endMs) / 1000} s before the edge`);
    }
  });

  // Shaka takes the live edge from the newest listed segment, dash.js from the wall clock:
  // both must land `offset` (plus suggestedPresentationDelay) behind now, not twice that.
  for (const player of ['shaka', 'dash.js']) {
    it(`${player} plays an offset MPD offset seconds behind now`, async () => {
      const offset = offsetNow();
      const url = `${live.endpoints.dash.url}?offset=${offset}`;
      // The endpoint's delay is automatic (from the channel's max_segment_duration): as written.
      const spd = seconds(attr((await get(url)).text, 'suggestedPresentationDelay'));
      const p = await players.play({ player, url, timeoutMs: 30_000 });
      assert.deepEqual(p.fatal, [], summary(p));
      assert.ok(p.advanced >= 4, summary(p));
      // Presentation time is wall-clock time (Period@start is the run's UTC start), shifted.
      const behind = Date.now() / 1000 - p.currentTime;
      assert.ok(behind >= offset && behind <= offset + spd + 3 * HLS_TIME,
        `playing ${behind} s behind now with offset ${offset}: ${summary(p)}`);
      console.log(`# ${player} offset=${offset}: playing ${behind.toFixed(1)} s behind now`);
    });
  }

  it('start and offset together are refused; a window outside retention is a 404 naming the range', async () => {
    const both = await get(`${live.endpoints.dash.url}?start=${window.start}&offset=10`);
    assert.equal(both.status, 400, both.describe());
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const outside = await get(`${live.endpoints.dash.url}?start=${old}&vodend=${new Date(Date.parse(old) + 20_000).toISOString()}`);
    assert.equal(outside.status, 404, outside.describe());
    assert.match(outside.text, /retained from/);
  });
});
