// Observers and checks for the failover tests: rendition playlists and the channel status
// polled through a switch, the timeline rules across every fetch (docs/timeline.md, "HLS rules as implemented"), and
// ffprobe's view of the segments on both sides of the switch point.
import { parseMedia, checkMedia, checkUpdate } from './m3u8.js';
import { get } from './endpoint.js';
import { probeTs } from './probe.js';
import { repeat } from './wait.js';

/** MPEG-TS timestamps tick at 90 kHz. */
export const TS_HZ = 90_000;
/** Output segment URIs are the origin's sequence number (README: Playback URLs), below the
 * channel's storage-id directory (`~{id}/`) in what the origin writes. */
const SEGMENT_URI = /^(?:~[A-Za-z0-9]+\/)?(\d+)\.ts(?:\?.*)?$/;
/** HLS-CMAF output segment URIs: `{kind}_{sequence}.m4s`. */
export const CMAF_SEGMENT_URI = /^(?:~[A-Za-z0-9]+\/)?[a-z]+_(\d+)\.m4s(?:\?.*)?$/;

/**
 * Polls every rendition playlist every `intervalMs` until stopped. Each fetch is recorded as
 * { wallMs, round, url, status, text, playlist | error }.
 */
export function watchPlaylists(urls, { intervalMs = 1000 } = {}) {
  const fetches = [];
  let round = 0;
  const poller = repeat(async () => {
    await Promise.all(
      urls.map(async (url) => {
        const wallMs = Date.now();
        try {
          const res = await get(url);
          const entry = { wallMs, round, url, status: res.status, text: res.text };
          if (res.status === 200) entry.playlist = parseMedia(res.text);
          else entry.error = `HTTP ${res.status}`;
          fetches.push(entry);
        } catch (err) {
          fetches.push({ wallMs, round, url, error: err.message });
        }
      }),
    );
    round++;
  }, intervalMs);
  return { fetches, stop: poller.stop };
}

/** Polls the channel status every `intervalMs`; records { wallMs, status, json }. */
export function watchStatus(origin, path, { intervalMs = 1000 } = {}) {
  const samples = [];
  const poller = repeat(async () => {
    const wallMs = Date.now();
    try {
      const res = await origin.api('GET', path);
      samples.push({ wallMs, status: res.status, json: res.json, text: res.text });
    } catch (err) {
      samples.push({ wallMs, error: err.message });
    }
  }, intervalMs);
  return { samples, latest: () => samples.at(-1), stop: poller.stop };
}

/**
 * The rules every fetched rendition playlist must keep through a switch, per URL in fetch
 * order: the live rules on its own, media sequence never decreasing and segments keeping their
 * names (lib/m3u8.js), segment URIs equal to their media sequence numbers and consecutive, and
 * (when `aligned`) no EXT-X-DISCONTINUITY, no EXT-X-GAP and no DISCONTINUITY-SEQUENCE change.
 * `fetches` are { wallMs, url, playlist | error } (from watchPlaylists or a player session);
 * `source` names them in messages; `segmentUri` reads the number out of a segment URI (TS by
 * default, CMAF_SEGMENT_URI for HLS-CMAF). Returns violation strings.
 */
export function checkFetches(fetches, { aligned, source, segmentUri = SEGMENT_URI }) {
  const v = [];
  const byUrl = new Map();
  for (const f of [...fetches].sort((a, b) => a.wallMs - b.wallMs)) {
    if (!byUrl.has(f.url)) byUrl.set(f.url, []);
    byUrl.get(f.url).push(f);
  }
  for (const [url, list] of byUrl) {
    let prev = null;
    let prevText = null;
    let shown = false;
    for (const f of list) {
      const at = `${source} ${url} @${new Date(f.wallMs).toISOString()}`;
      const before = v.length;
      if (!f.playlist) {
        v.push(`${at}: ${f.error}`);
        continue;
      }
      const pl = f.playlist;
      for (const x of checkMedia(pl, { live: true })) v.push(`${at}: ${x}`);
      if (prev) for (const x of checkUpdate(prev, pl)) v.push(`${at}: ${x}`);
      for (const s of pl.segments) {
        const m = segmentUri.exec(s.uri);
        if (!m) v.push(`${at}: segment URI ${s.uri} does not carry its sequence number (${segmentUri})`);
        else if (Number(m[1]) !== s.sequence) {
          v.push(`${at}: segment ${s.uri} listed at media sequence ${s.sequence} (numbers not consecutive from EXT-X-MEDIA-SEQUENCE ${pl.mediaSequence})`);
        }
      }
      if (aligned) {
        const tagged = pl.segments.filter((s) => s.discontinuity).map((s) => s.uri);
        if (tagged.length > 0) v.push(`${at}: EXT-X-DISCONTINUITY before ${tagged} (aligned inputs)`);
        const gaps = pl.segments.filter((s) => s.gap).map((s) => s.uri);
        if (gaps.length > 0) v.push(`${at}: EXT-X-GAP on ${gaps} (aligned inputs: a number neither input's copy serves)`);
        if (pl.discontinuitySequence !== 0) v.push(`${at}: EXT-X-DISCONTINUITY-SEQUENCE ${pl.discontinuitySequence} (aligned inputs)`);
      }
      // The first offending playlist of each URL, verbatim (and the one before it).
      if (v.length > before && !shown) {
        shown = true;
        v.push(`${at}: the playlist was:\n${f.text}${prevText ? `\nthe fetch before it:\n${prevText}` : ''}`);
      }
      prev = pl;
      prevText = f.text;
    }
  }
  return v;
}

/** Renditions polled in the same round must agree on EXT-X-DISCONTINUITY-SEQUENCE. */
export function checkRounds(fetches) {
  const v = [];
  const rounds = new Map();
  for (const f of fetches) {
    if (!f.playlist) continue;
    if (!rounds.has(f.round)) rounds.set(f.round, []);
    rounds.get(f.round).push(f);
  }
  for (const [round, list] of rounds) {
    // A round's fetches are concurrent: compare only those that show the same media sequence.
    const bySeq = new Map();
    for (const f of list) {
      const key = f.playlist.mediaSequence;
      if (!bySeq.has(key)) bySeq.set(key, new Set());
      bySeq.get(key).add(f.playlist.discontinuitySequence);
    }
    for (const [seq, ds] of bySeq) {
      if (ds.size > 1) v.push(`round ${round}: EXT-X-DISCONTINUITY-SEQUENCE differs across renditions at media sequence ${seq}: ${[...ds]}`);
    }
  }
  return v;
}

/**
 * One line per poll round in which some rendition's playlist changed: time since `t0Ms`, then
 * per rendition its media sequence, discontinuity sequence, first..last segment and the
 * sequence numbers tagged with a discontinuity.
 */
export function sequenceTrace(fetches, t0Ms) {
  const rounds = new Map();
  for (const f of fetches) {
    if (!f.playlist) continue;
    if (!rounds.has(f.round)) rounds.set(f.round, []);
    rounds.get(f.round).push(f);
  }
  const lines = [];
  let lastLine = '';
  for (const [, list] of [...rounds].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => a.url.localeCompare(b.url));
    const parts = list.map((f) => {
      const pl = f.playlist;
      const disc = pl.segments.filter((s) => s.discontinuity).map((s) => s.sequence);
      return `${shortName(f.url)} MS=${pl.mediaSequence} DS=${pl.discontinuitySequence} ${pl.segments[0]?.uri}..${pl.segments.at(-1)?.uri}${disc.length ? ` DISC@${disc}` : ''}`;
    });
    const line = parts.join(' | ');
    if (line === lastLine) continue;
    lastLine = line;
    lines.push(`+${((list[0].wallMs - t0Ms) / 1000).toFixed(1)}s ${line}`);
  }
  return lines;
}

function shortName(url) {
  const parts = new URL(url).pathname.split('/');
  return parts.at(-3);
}

/** Per stream type: first PTS and end (max PTS + duration) in 90 kHz ticks, and frame count. */
export function ptsRange(probe) {
  const out = {};
  for (const p of probe.packets) {
    const pts = Number(p.pts);
    const dur = Number(p.duration);
    if (!Number.isFinite(pts)) continue;
    const r = (out[p.codec_type] ??= { first: Infinity, end: -Infinity, packets: 0, frameTicks: dur });
    r.first = Math.min(r.first, pts);
    if (Number.isFinite(dur)) r.end = Math.max(r.end, pts + dur);
    r.packets++;
  }
  return out;
}

/**
 * Fetches output segments `n` and `n + 1` of a rendition (URIs relative to its playlist) and
 * decodes them with ffprobe. Returns { urls, probes: [a, b], ranges: [a, b] }.
 */
export async function probePair(renditionUrl, n, dir, label) {
  const urls = [n, n + 1].map((k) => new URL(`${k}.ts`, renditionUrl).href);
  const probes = [];
  for (const [i, url] of urls.entries()) {
    const res = await get(url);
    if (res.status !== 200) throw new Error(`segment not available: ${res.describe()}`);
    probes.push(await probeTs(res.body, dir, `${label}-${n + i}.ts`));
  }
  return { urls, probes, ranges: probes.map(ptsRange) };
}

/** The per-rendition `last_sequence` of an input in a status answer, sorted by rendition. */
export function renditionSequences(status, input) {
  const i = status.inputs.find((x) => x.id === input);
  return (i?.renditions ?? [])
    .slice()
    .sort((a, b) => a.rendition.localeCompare(b.rendition))
    .map((r) => [r.rendition, r.last_sequence]);
}

/**
 * Polls the status every `intervalMs` until input `input`'s renditions have just reached the
 * same last segment (the last one caught up, or all moved on together): the encoder's next
 * uploads are then about one segment away. Returns the sequences seen then.
 */
// The window is wide: a rendition whose upload is overtaken by its playlist commits one
// playlist later, so renditions are level only at some segment boundaries.
export async function waitForLevelUploads(origin, path, input, { timeoutMs = 45_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let wasSkewed = false;
  let level = null;
  let seen = [];
  while (Date.now() < deadline) {
    const res = await origin.api('GET', path);
    if (res.status === 200 && res.json) {
      seen = renditionSequences(res.json, input);
      const seqs = new Set(seen.map(([, s]) => s));
      if (seen.length > 0 && seqs.size > 1) {
        wasSkewed = true;
      } else if (seen.length > 0) {
        const [now] = seqs;
        if (wasSkewed || (level !== null && now > level)) return seen;
        level = now;
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`input ${input}'s renditions never just reached the same segment in ${timeoutMs} ms; last: ${JSON.stringify(seen)}`);
}
