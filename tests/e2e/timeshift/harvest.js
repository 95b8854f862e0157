// Harvest jobs on the Worker in workerd, on the shared ~40 s live recording (recording.js): a
// job copies a 20 s window of an HLS (TS) and an HLS-CMAF endpoint into a VOD asset in R2; the
// job is polled to SUCCEEDED, the asset's segments decode in ffprobe, and hls.js and Shaka play
// it to its end from its /vod/v1 URL (DASH too when the endpoint serves a static MPD for the
// window). Recordings (`format` MP4, FLV) of the same window are one R2 object each (multipart
// upload): ffprobe decodes them, Range requests answer their bytes, and Chromium's own
// `<video src>` plays the MP4 to its end; a recording deleted mid-way aborts its upload.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { summary } from '../lib/players.js';
import { get, readMaster, readMedia } from '../lib/endpoint.js';
import { probeTs, probeFmp4, probeFile } from '../lib/probe.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HLS_TIME } from '../lib/encoder.js';
import { channelPaths } from '../lib/api.js';
import { it, before, recorded, WINDOW_S, GROUP, CHANNEL } from './recording.js';

const JOBS = `${channelPaths({ group: GROUP, channel: CHANNEL }).channel}/harvest-jobs`;

describe('harvest jobs: live-to-VOD assets (workerd, ffmpeg, ffprobe, hls.js, Shaka)', () => {
  let live, players, window;
  const jobs = {};
  before(async () => ({ live, window, players } = await recorded({ players: true })));

  const create = (endpoint, destination = 'e2e/shows') =>
    live.origin.api('POST', JOBS, { endpoint, start: window.start, end: window.end, destination });

  /** Polls the job (each GET copies one batch) until it finishes; returns [final, every view]. */
  async function untilFinished(id) {
    const seen = [];
    for (let i = 0; i < 60; i++) {
      const r = await live.origin.api('GET', `${JOBS}/${id}`);
      assert.equal(r.status, 200, r.text);
      seen.push(r.json);
      if (r.json.status === 'SUCCEEDED' || r.json.status === 'FAILED') return [r.json, seen];
      await new Promise((res) => setTimeout(res, 500));
    }
    throw new Error(`job ${id} did not finish: ${JSON.stringify(seen.at(-1))}`);
  }

  for (const name of ['hls', 'cmaf']) {
    it(`${name}: a job copies the window and reports progress`, async () => {
      const r = await create(name);
      assert.equal(r.status, 201, r.text);
      assert.ok(['PENDING', 'IN_PROGRESS', 'SUCCEEDED'].includes(r.json.status), r.text);
      assert.match(r.json.asset_url, new RegExp(`/vod/v1/e2e/shows/${r.json.id}/manifest\\.m3u8$`));
      const [job, seen] = await untilFinished(r.json.id);
      assert.equal(job.status, 'SUCCEEDED', JSON.stringify(job));
      for (const v of [r.json, ...seen]) {
        assert.ok(v.progress.segments_done <= v.progress.segments_total || v.status === 'PENDING', JSON.stringify(v));
      }
      assert.ok(job.progress.segments_total >= WINDOW_S / HLS_TIME, JSON.stringify(job));
      assert.equal(job.progress.segments_done, job.progress.segments_total);
      jobs[name] = job;
    });

    it(`${name}: the asset is a VOD of the window whose segments decode`, async () => {
      const job = jobs[name];
      assert.ok(job, 'job finished');
      const { renditions, text } = await readMaster(job.asset_url);
      assert.ok(renditions.length >= 1, text);
      assert.ok(!text.includes('?'), `no query on asset URIs:\n${text}`);
      for (const r of renditions) {
        const { playlist, text: media } = await readMedia(r.url);
        assert.ok(playlist.endList, media);
        assert.match(media, /#EXT-X-PLAYLIST-TYPE:VOD/);
        assert.ok(!media.includes('?'), media);
        const total = playlist.segments.reduce((s, x) => s + x.duration, 0);
        assert.ok(Math.abs(total - WINDOW_S) <= HLS_TIME, `${r.url}: ${total} s for a ${WINDOW_S} s window\n${media}`);
        const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(media);
        const initBytes = init ? (await get(new URL(init[1], r.url).href)).body : null;
        for (const [i, s] of playlist.segments.entries()) {
          const res = await get(new URL(s.uri, r.url).href);
          assert.equal(res.status, 200, res.describe());
          assert.match(res.headers.get('cache-control') ?? '', /immutable/);
          const probe = initBytes
            ? await probeFmp4(initBytes, res.body, live.dir, `${name}-${i}.mp4`)
            : await probeTs(res.body, live.dir, `${name}-${i}.ts`);
          assert.equal(probe.errors, '', `${s.uri}: ${probe.errors}`);
          const frames = probe.streams.reduce((n, st) => n + Number(st.nb_read_frames ?? 0), 0);
          assert.ok(frames > 0, `${s.uri} decodes no frame`);
        }
        // The asset's bytes are what vodend playback serves.
        const first = playlist.segments[0].uri;
        const rel = new URL(first, r.url).href.slice(job.asset_url.lastIndexOf('/') + 1);
        const vod = await get(`${live.endpoints[name].url.replace(/[^/]+$/, '')}${rel}?start=${window.start}&vodend=${window.end}`);
        const copy = await get(new URL(first, r.url).href);
        assert.equal(vod.status, 200, vod.describe());
        assert.ok(vod.body.equals(copy.body), `${rel} differs from vodend playback`);
      }
    });

    for (const player of ['hls.js', 'shaka']) {
      it(`${name}: ${player} plays the asset to its end`, async (t) => {
        const job = jobs[name];
        assert.ok(job, 'job finished');
        const r = await players.play({ player, url: job.asset_url, untilEnded: true, rate: 4, timeoutMs: 45_000 });
        assert.deepEqual(r.fatal, [], summary(r));
        assert.ok(r.ended, `not ended: ${summary(r)}`);
        assert.ok(Math.abs(r.duration - WINDOW_S) <= HLS_TIME, `duration ${r.duration}: ${summary(r)}`);
      });
    }
  }

  it('dash: a static MPD asset plays in Shaka and dash.js (once DASH serves vodend windows)', async (t) => {
    const r = await create('dash', 'e2e/dash');
    if (r.status === 400 && /not supported on DASH/.test(r.text)) {
      t.skip(`DASH time-shift not available in this build: ${r.json?.error}`);
      return;
    }
    assert.equal(r.status, 201, r.text);
    const [job] = await untilFinished(r.json.id);
    assert.equal(job.status, 'SUCCEEDED', JSON.stringify(job));
    assert.match(job.asset_url, /manifest\.mpd$/);
    const mpd = await get(job.asset_url);
    assert.equal(mpd.status, 200, mpd.describe());
    assert.match(mpd.text, /type="static"/);
    assert.ok(!mpd.text.includes('vodend'), mpd.text);
    for (const player of ['shaka', 'dash.js']) {
      const p = await players.play({ player, url: job.asset_url, untilEnded: true, rate: 4, timeoutMs: 45_000 });
      assert.deepEqual(p.fatal, [], summary(p));
      assert.ok(p.ended, `${player} not ended: ${summary(p)}`);
      assert.ok(Math.abs(p.duration - WINDOW_S) <= HLS_TIME, `${player} duration ${p.duration}: ${summary(p)}`);
    }
  });

  const recordings = {};
  for (const [format, ext, type] of [['MP4', 'mp4', 'video/mp4'], ['FLV', 'flv', 'video/x-flv']]) {
    it(`${format} recording: one file that ffprobe decodes in full, with Range answers`, async () => {
      const r = await live.origin.api('POST', JOBS, { endpoint: 'hls', start: window.start, end: window.end, destination: 'e2e/rec', format });
      assert.equal(r.status, 201, r.text);
      assert.match(r.json.asset_url, new RegExp(`/vod/v1/e2e/rec/${r.json.id}/recording\\.${ext}$`));
      const [job, seen] = await untilFinished(r.json.id);
      assert.equal(job.status, 'SUCCEEDED', JSON.stringify(job));
      assert.equal(job.format, format);
      assert.equal(job.progress.percent, 100);
      for (const v of seen) assert.ok(v.progress.percent >= 0 && v.progress.percent <= 100, JSON.stringify(v));
      const file = await get(job.asset_url);
      assert.equal(file.status, 200, file.describe());
      assert.equal(file.headers.get('content-type'), type);
      assert.equal(file.headers.get('accept-ranges'), 'bytes');
      assert.equal(job.progress.bytes_written, file.body.length);
      const path = join(live.dir, `recording.${ext}`);
      await writeFile(path, file.body);
      const probe = await probeFile(path);
      assert.equal(probe.errors, '', probe.errors);
      const duration = Number(probe.format?.duration);
      assert.ok(Math.abs(duration - WINDOW_S) <= HLS_TIME, `${duration} s for a ${WINDOW_S} s window`);
      const video = probe.streams.find((s) => s.codec_type === 'video');
      const audio = probe.streams.find((s) => s.codec_type === 'audio');
      assert.ok(Number(video?.nb_read_frames) >= (WINDOW_S - HLS_TIME) * 25, JSON.stringify(video));
      assert.ok(Number(audio?.nb_read_frames) > 0, JSON.stringify(audio));
      // What `<video src>` asks first, then a seek into the middle.
      const open = await get(job.asset_url, { Range: 'bytes=0-' });
      assert.equal(open.status, 206, open.describe());
      assert.equal(open.headers.get('content-range'), `bytes 0-${file.body.length - 1}/${file.body.length}`);
      assert.ok(open.body.equals(file.body));
      const from = Math.floor(file.body.length / 2);
      const part = await get(job.asset_url, { Range: `bytes=${from}-${from + 9999}` });
      assert.equal(part.status, 206, part.describe());
      assert.ok(part.body.equals(file.body.subarray(from, from + 10_000)));
      const past = await get(job.asset_url, { Range: `bytes=${file.body.length}-` });
      assert.equal(past.status, 416, past.describe());
      const head = await fetch(job.asset_url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(file.body.length));
      recordings[format] = job;
    });
  }

  it('MP4 recording: Chromium plays it from <video src> to its end', async () => {
    const job = recordings.MP4;
    assert.ok(job, 'recording finished');
    const p = await players.play({ player: 'video', url: job.asset_url, untilEnded: true, rate: 4, timeoutMs: 45_000 });
    assert.deepEqual(p.fatal, [], summary(p));
    assert.ok(p.ended, `not ended: ${summary(p)}`);
    assert.ok(Math.abs(p.duration - WINDOW_S) <= HLS_TIME, `duration ${p.duration}: ${summary(p)}`);
  });

  it('a recording deleted while its upload is open aborts the R2 multipart upload', async () => {
    // POST runs the MP4 index pass; the next GET the header batch, which opens the upload.
    const r = await live.origin.api('POST', JOBS, { endpoint: 'hls', start: window.start, end: window.end, destination: 'e2e/gone', format: 'MP4' });
    assert.equal(r.status, 201, r.text);
    const id = r.json.id;
    const jobKey = (await live.origin.r2Keys('hv/job/')).find((k) => k.endsWith(`/${id}.json`));
    let state;
    for (let i = 0; i < 5 && !state?.recording?.upload_id; i++) {
      assert.equal((await live.origin.api('GET', `${JOBS}/${id}`)).status, 200);
      state = await (await live.origin.bucket.get(jobKey)).json();
    }
    const uploadId = state?.recording?.upload_id;
    assert.ok(uploadId && state.status === 'IN_PROGRESS', JSON.stringify(state));
    const fileKey = `vod/e2e/gone/${id}/recording.mp4`;
    // The upload takes parts while the job lives (a part of 5 MiB: R2's minimum but the last).
    const part = 'x'.repeat(5 << 20);
    await live.origin.bucket.resumeMultipartUpload(fileKey, uploadId).uploadPart(1, part);
    const del = await live.origin.api('DELETE', `${JOBS}/${id}`);
    assert.equal(del.status, 204, del.text);
    await assert.rejects(live.origin.bucket.resumeMultipartUpload(fileKey, uploadId).uploadPart(2, part), 'the upload was aborted');
    assert.deepEqual(await live.origin.r2Keys(`hv/rec/${id}/`), []);
    assert.equal(await live.origin.bucket.head(fileKey), null);
  });

  it('several jobs on one endpoint make separate assets; the channel lists them', async () => {
    const r = await create('hls');
    assert.equal(r.status, 201, r.text);
    assert.ok(jobs.hls, 'first job finished');
    assert.notEqual(r.json.asset_url, jobs.hls.asset_url);
    const [job] = await untilFinished(r.json.id);
    assert.equal(job.status, 'SUCCEEDED');
    assert.equal((await get(job.asset_url)).status, 200);
    assert.equal((await get(jobs.hls.asset_url)).status, 200);
    const list = await live.origin.api('GET', JOBS);
    assert.equal(list.status, 200, list.text);
    const ids = list.json.harvest_jobs.map((j) => j.id);
    assert.ok(ids.includes(job.id) && ids.includes(jobs.hls.id), list.text);
  });

  it('a job on an endpoint without time-shift is refused with a clear message', async () => {
    const r = await create('plain');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.field, 'endpoint');
    assert.match(r.json.allowed, /time_shift_days/);
    assert.match(r.json.allowed, new RegExp(`${GROUP}/${CHANNEL}/plain`));
    const bad = await live.origin.api('POST', JOBS, { endpoint: 'hls', start: window.start, end: window.end, destination: '../x' });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.field, 'destination');
  });
});
