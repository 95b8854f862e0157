// ffprobe over everything an endpoint serves (the HLS_CMAF, DASH and CMAF ingest suites):
// every segment of every HLS-CMAF and HLS (TS) rendition and every listed DASH segment is
// fetched and decoded, frames are counted, and each segment must start where the one before
// it ended. MPEG-TS continuity counters must run on across segments too.
import assert from 'node:assert/strict';
import { get, readMaster, readMedia } from './endpoint.js';
import { checkMedia } from './m3u8.js';
import { readCmafMedia, renditionDir, endpointBase } from './packaging-hls.js';
import { readMpd, checkMpd, representations, segmentUrl } from './packaging-mpd.js';

/** Consecutive segments continue each other within this (one AAC frame is 21 ms). */
export const CONTINUITY_TOLERANCE_S = 0.025;
/** Source audio: AAC frames of 1024 samples at 48 kHz. */
const AAC_FRAME_S = 1024 / 48_000;

async function fetchOk(url) {
  const res = await get(url);
  assert.equal(res.status, 200, res.describe());
  return res;
}

/** The renditions of a master, each URL once (an audio rendition is named by every variant). */
function unique(renditions) {
  return renditions.filter((r, i) => renditions.findIndex((x) => x.url === r.url) === i);
}

/**
 * Follows the timestamps of consecutive segments of one track: `next(probe, where,
 * discontinuity)` asserts that the segment's first presentation time (ffprobe, seconds) is the
 * previous segment's end within CONTINUITY_TOLERANCE_S, unless the playlist marks a
 * discontinuity before it. Returns the { first, end } of the segment.
 */
function continuity(codecType, frameSeconds) {
  let previousEnd = null;
  return (got, where, discontinuity = false) => {
    const times = got.packets
      .filter((p) => p.codec_type === codecType)
      .map((p) => Number(p.pts_time))
      .sort((a, b) => a - b);
    assert.ok(times.length > 0, `no ${codecType} packets in ${where}`);
    const first = times[0];
    if (previousEnd !== null && !discontinuity) {
      assert.ok(
        Math.abs(first - previousEnd) <= CONTINUITY_TOLERANCE_S,
        `${where}: starts at ${first} s, the previous segment ended at ${previousEnd} s`,
      );
    }
    previousEnd = times.at(-1) + frameSeconds;
    return { first, end: previousEnd };
  };
}

/**
 * Every segment of every HLS-CMAF rendition of the master at `masterUrl`, decoded with its
 * EXT-X-MAP: one track of the rendition's kind, `videoFrames` frames in each video segment,
 * timestamps continuing across segments (`fps`: the video frame rate). `probe` is a
 * lib/probe.js prober. Returns one line per rendition.
 */
export async function checkCmafRenditions(masterUrl, { probe, videoFrames, fps }) {
  const { renditions } = await readMaster(masterUrl);
  const base = endpointBase(masterUrl);
  const check = async (r) => {
    const kind = r.kind === 'audio' ? 'audio' : 'video';
    const rendition = renditionDir(r.url, base);
    const { playlist, text } = await readCmafMedia(r.url);
    assert.deepEqual(checkMedia(playlist), [], `${r.url}:\n${text}`);
    const inits = new Map();
    const next = continuity(kind, kind === 'video' ? 1 / fps : AAC_FRAME_S);
    let frames = 0;
    for (const seg of playlist.segments) {
      if (!inits.has(seg.map)) inits.set(seg.map, (await fetchOk(seg.map)).body);
      const body = (await fetchOk(seg.url)).body;
      const got = await probe.fmp4(inits.get(seg.map), body, `${rendition}-${kind}-${seg.number}`);
      const where = `${seg.url} with ${seg.map} (${got.file})`;
      assert.equal(got.errors, '', `ffprobe errors for ${where}`);
      assert.deepEqual(got.streams.map((s) => s.codec_type), [kind], `one ${kind} track in ${where}`);
      const n = Number(got.streams[0].nb_read_frames);
      if (kind === 'video') assert.equal(n, videoFrames, `${where}: ${n} video frames`);
      else assert.ok(n > 0, `no audio frames decoded in ${where}`);
      next(got, where, seg.discontinuity);
      frames += n;
    }
    return `HLS-CMAF ${rendition} ${kind}: ${playlist.segments.length} segments, ${frames} frames, continuous`;
  };
  return Promise.all(unique(renditions).map(check));
}

/** The continuity_counter of the first and last payload packet of each PID in a TS segment. */
export function continuityCounters(ts) {
  const first = new Map();
  const last = new Map();
  for (let i = 0; i + 188 <= ts.length; i += 188) {
    if (ts[i] !== 0x47 || (ts[i + 3] & 0x10) === 0) continue;
    const pid = ((ts[i + 1] & 0x1f) << 8) | ts[i + 2];
    const cc = ts[i + 3] & 0x0f;
    if (!first.has(pid)) first.set(pid, cc);
    last.set(pid, cc);
  }
  return { first, last };
}

/**
 * Every segment of every HLS (TS) rendition of the master at `masterUrl`, decoded:
 * `videoFrames` frames per video segment, presentation times continuing across segments
 * (`fps`: the video frame rate), and each PID's continuity_counter continuing from the
 * previous segment's. Returns one line per rendition.
 */
export async function checkTsRenditions(masterUrl, { probe, videoFrames, fps }) {
  const { renditions } = await readMaster(masterUrl);
  const lines = [];
  for (const r of unique(renditions)) {
    const { playlist, text } = await readMedia(r.url);
    assert.deepEqual(checkMedia(playlist), [], `${r.url}:\n${text}`);
    const next = { video: continuity('video', 1 / fps), audio: continuity('audio', AAC_FRAME_S) };
    let previous = null;
    for (const seg of playlist.segments) {
      const url = new URL(seg.uri, r.url).href;
      const body = (await fetchOk(url)).body;
      const got = await probe.ts(body, `ts-${renditionDir(r.url, endpointBase(masterUrl))}-${seg.uri}`);
      const where = `${url} (${got.file})`;
      assert.equal(got.errors, '', `ffprobe errors for ${where}`);
      for (const s of got.streams) {
        if (s.codec_type === 'video') assert.equal(Number(s.nb_read_frames), videoFrames, `${where}: video frames`);
        next[s.codec_type]?.(got, where, seg.discontinuity);
      }
      const cc = continuityCounters(body);
      if (previous && !seg.discontinuity) {
        for (const [pid, last] of previous) {
          assert.equal(cc.first.get(pid), (last + 1) % 16, `${where}: PID ${pid} continues from ${last}`);
        }
      }
      previous = cc.last;
    }
    lines.push(`HLS (TS) ${r.url}: ${playlist.segments.length} segments decode, timestamps and counters continuous`);
  }
  return lines;
}

/**
 * The MPD at `mpdUrl` against the rules of lib/packaging-mpd.js for `endpoint` (its API JSON),
 * then every segment each representation lists (the newest `newest` only, when given), decoded
 * with its initialization segment: frames of the set's content type (`videoFrames` per video
 * segment) and timestamps continuing across segments. Returns { mpd, lines }.
 */
export async function checkDashRepresentations(mpdUrl, endpoint, { probe, videoFrames, fps, newest = Infinity }) {
  const res = await fetchOk(mpdUrl);
  const mpd = readMpd(res.text);
  assert.deepEqual(checkMpd(mpd, endpoint), [], `MPD rules:\n${res.text}`);
  const lines = [];
  for (const [, rep, set] of representations(mpd)) {
    const kind = set.contentType;
    const init = (await fetchOk(new URL(rep.initialization, mpdUrl).href)).body;
    const next = continuity(kind, kind === 'video' ? 1 / fps : AAC_FRAME_S);
    const listed = rep.segments.slice(-newest);
    for (const seg of listed) {
      const url = segmentUrl(mpdUrl, rep.media, { time: seg.t });
      const body = (await fetchOk(url)).body;
      const got = await probe.fmp4(init, body, `dash-${rep.id}-${seg.t}`);
      const where = `${url} (${got.file})`;
      assert.equal(got.errors, '', `ffprobe errors for ${where}`);
      const stream = got.streams.find((x) => x.codec_type === kind);
      assert.ok(stream && Number(stream.nb_read_frames) > 0, `no ${kind} frames in ${where}`);
      if (kind === 'video') assert.equal(Number(stream.nb_read_frames), videoFrames, `${where}: video frames`);
      next(got, where);
    }
    lines.push(`DASH ${rep.id}: ${listed.length} of ${rep.segments.length} segments decode, continuous`);
  }
  return { mpd, lines };
}
