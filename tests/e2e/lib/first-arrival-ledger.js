// "Same URL, same bytes" for the first-arrival suite: every manifest of three endpoints (HLS
// (TS), HLS-CMAF, DASH) polled through the test, every segment and init segment they list
// fetched once as soon as it is listed (hashed and kept on disk), all of them fetched again at
// the end and compared, and every track decoded by ffprobe as one run of consecutive segments.
import { createHash } from 'node:crypto';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { get } from './endpoint.js';
import { parseMedia, parseAttributes } from './m3u8.js';
import { readMpd, representations, segmentUrl, checkMpd, checkMpdUpdate } from './packaging-mpd.js';
import { probeFile } from './probe.js';
import { repeat } from './wait.js';

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** The EXT-X-MAP URI in effect for each segment of an HLS-CMAF playlist text (absolute). */
function mapsOf(text, base) {
  const maps = [];
  let map = null;
  for (const line of text.split(/\r?\n/)) {
    const l = line.trim();
    if (l.startsWith('#EXT-X-MAP:')) map = parseAttributes(l.slice('#EXT-X-MAP:'.length)).URI ?? null;
    else if (l !== '' && !l.startsWith('#')) maps.push(map ? new URL(map, base).href : null);
  }
  return maps;
}

/**
 * Fetches each URL handed to `add` once (a few at a time), keeps its bytes in `dir` and its
 * hash. Entries: url -> { url, track, key, init, firstMs, status, sha, size, file }.
 * `track` groups the segments decoded together, `key` orders them (sequence number or DASH
 * time), `init` is the init segment URL they need (fMP4).
 */
export function segmentLedger(dir, { concurrency = 3 } = {}) {
  const entries = new Map();
  const queue = [];
  let active = 0;
  let n = 0;
  let idle = Promise.resolve();
  let wake = null;
  const pump = () => {
    while (active < concurrency && queue.length > 0) {
      const e = queue.shift();
      active++;
      fetchOne(e).finally(() => {
        active--;
        if (active === 0 && queue.length === 0 && wake) {
          wake();
          wake = null;
        }
        pump();
      });
    }
  };
  async function fetchOne(e) {
    try {
      const res = await get(e.url);
      e.status = res.status;
      e.firstMs = Date.now();
      if (res.status === 200) {
        e.sha = sha256(res.body);
        e.size = res.body.length;
        e.file = join(dir, `${String(++n).padStart(5, '0')}.bin`);
        await writeFile(e.file, res.body);
      } else {
        e.error = res.describe().slice(0, 300);
      }
    } catch (err) {
      e.status = null;
      e.error = err.message;
    }
  }
  return {
    entries,
    add(url, { track, key = null, init = null, listedMs = Date.now(), duration = null }) {
      if (entries.has(url)) return;
      const e = { url, track, key, init, listedMs, duration };
      entries.set(url, e);
      queue.push(e);
      if (active === 0 && !wake) idle = new Promise((r) => { wake = r; });
      pump();
    },
    /** Resolves once every queued fetch finished. */
    async drain() {
      if (active === 0 && queue.length === 0) return;
      await idle;
    },
    async prepare() {
      await mkdir(dir, { recursive: true });
    },
  };
}

/**
 * Polls the HLS (TS) and HLS-CMAF rendition playlists and the MPD every `intervalMs`, handing
 * every listed segment and init segment to `ledger`. HLS fetches are recorded as
 * lib/failover-checks.js's watchPlaylists records them ({ wallMs, round, url, status, text,
 * playlist | error }), the MPD's as { wallMs, round, url, status, text, mpd | error }, with the
 * MPD rules (checkMpd against `dashEndpoint`, checkMpdUpdate) and "one Period, always the same"
 * checked on every fetch into `mpdViolations`.
 */
export function watchEndpoints({ ts, cmaf, mpdUrl, dashEndpoint, ledger, intervalMs = 500 }) {
  const hls = [];
  const mpds = [];
  const mpdViolations = [];
  let round = 0;
  let prevMpd = null;
  let periodIds = null;
  const pollHls = async (url, kind) => {
    const wallMs = Date.now();
    try {
      const res = await get(url);
      const entry = { wallMs, round, url, kind, status: res.status, text: res.text };
      if (res.status === 200) {
        entry.playlist = parseMedia(res.text);
        const maps = kind === 'cmaf' ? mapsOf(res.text, url) : [];
        entry.playlist.segments.forEach((s, i) => {
          // A gap is listed to be skipped, not fetched (the playlist checks report it).
          if (s.gap) return;
          const init = maps[i] ?? null;
          if (init) ledger.add(init, { track: `${kind} ${url} init`, listedMs: wallMs });
          ledger.add(new URL(s.uri, url).href, { track: `${kind} ${url}`, key: s.sequence, init, listedMs: wallMs });
        });
      } else entry.error = `HTTP ${res.status}`;
      hls.push(entry);
    } catch (err) {
      hls.push({ wallMs, round, url, kind, error: err.message });
    }
  };
  const pollMpd = async () => {
    const wallMs = Date.now();
    try {
      const res = await get(mpdUrl);
      const entry = { wallMs, round, url: mpdUrl, status: res.status, text: res.text };
      if (res.status !== 200) {
        entry.error = `HTTP ${res.status}`;
        mpdViolations.push(`${new Date(wallMs).toISOString()} MPD: HTTP ${res.status}`);
      } else {
        const mpd = readMpd(res.text);
        entry.mpd = mpd;
        const at = `${new Date(wallMs).toISOString()} MPD`;
        for (const v of checkMpd(mpd, dashEndpoint)) mpdViolations.push(`${at}: ${v}`);
        if (prevMpd) for (const v of checkMpdUpdate(prevMpd, mpd)) mpdViolations.push(`${at}: ${v}`);
        const ids = mpd.periods.map((p) => `${p.id}@${p.start}`).join(',');
        if (mpd.periods.length !== 1) mpdViolations.push(`${at}: ${mpd.periods.length} Periods (${ids}), expected one`);
        if (periodIds !== null && ids !== periodIds) mpdViolations.push(`${at}: Periods ${ids}, before ${periodIds} (a new Period)`);
        periodIds ??= ids;
        prevMpd = mpd;
        for (const [pid, rep] of representations(mpd)) {
          const init = rep.initialization ? new URL(rep.initialization, mpdUrl).href : null;
          const track = `dash ${pid}/${rep.id}`;
          if (init) ledger.add(init, { track: `${track} init`, listedMs: wallMs });
          for (const s of rep.segments) {
            ledger.add(segmentUrl(mpdUrl, rep.media, { time: s.t }), { track, key: s.t, init, listedMs: wallMs, duration: s.d });
          }
        }
      }
      mpds.push(entry);
    } catch (err) {
      mpds.push({ wallMs, round, url: mpdUrl, error: err.message });
      mpdViolations.push(`${new Date(wallMs).toISOString()} MPD: ${err.message}`);
    }
  };
  const poller = repeat(async () => {
    await Promise.all([...ts.map((u) => pollHls(u, 'ts')), ...cmaf.map((u) => pollHls(u, 'cmaf')), pollMpd()]);
    round++;
  }, intervalMs);
  return { hls, mpds, mpdViolations, stop: poller.stop };
}

/** Fetches every ledger entry again; returns the URLs whose answer changed (with how). */
export async function refetchAll(ledger, { concurrency = 4 } = {}) {
  const list = [...ledger.entries.values()];
  const changed = [];
  let i = 0;
  const worker = async () => {
    while (i < list.length) {
      const e = list[i++];
      const res = await get(e.url).catch((err) => ({ status: null, error: err.message }));
      if (e.status !== 200) {
        changed.push(`${e.url}: first fetch ${e.status} ${e.error ?? ''}`);
      } else if (res.status !== 200) {
        changed.push(`${e.url}: first 200 (${e.size} B, sha256 ${e.sha.slice(0, 12)}), now ${res.status} ${res.error ?? ''}`);
      } else {
        const sha = sha256(res.body);
        if (sha !== e.sha) changed.push(`${e.url}: first ${e.size} B sha256 ${e.sha.slice(0, 12)} (${e.file}), now ${res.body.length} B sha256 ${sha.slice(0, 12)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { checked: list.length, changed };
}

/**
 * Decodes every track the ledger holds: runs of consecutive segments (HLS: sequence numbers,
 * DASH: t + d = next t), each run concatenated (fMP4: after its init segment) into one file and
 * decoded frame by frame by ffprobe. Checks per run: no ffprobe error, `videoFrames` frames
 * per video segment, and presentation times continuous (every video frame one frame duration
 * after the previous one; no audio gap over 1.5 frames, no repeated time). Returns
 * { lines, violations }.
 */
export async function decodeTracks(ledger, dir, { videoFrames }) {
  await mkdir(dir, { recursive: true });
  const tracks = new Map();
  for (const e of ledger.entries.values()) {
    if (e.key === null || e.status !== 200) continue;
    if (!tracks.has(e.track)) tracks.set(e.track, []);
    tracks.get(e.track).push(e);
  }
  const lines = [];
  const violations = [];
  let fileNo = 0;
  for (const [track, list] of tracks) {
    list.sort((a, b) => a.key - b.key);
    const runs = [];
    for (const e of list) {
      const prev = runs.at(-1)?.at(-1);
      const follows = prev && prev.init === e.init && (track.startsWith('dash') ? prev.key + prev.duration === e.key : prev.key + 1 === e.key);
      if (follows) runs.at(-1).push(e);
      else runs.push([e]);
    }
    if (runs.length > 1) {
      const holes = runs.slice(1).map((r, i) => `${runs[i].at(-1).key} -> ${r[0].key}`);
      violations.push(`${track}: the listed segments form ${runs.length} runs, not one: no segment (or another init) between ${holes.join(', ')}`);
    }
    for (const run of runs) {
      const parts = [];
      if (run[0].init) {
        const init = ledger.entries.get(run[0].init);
        if (!init || init.status !== 200) {
          violations.push(`${track}: init ${run[0].init} not fetched`);
          continue;
        }
        parts.push(await readFile(init.file));
      }
      for (const e of run) parts.push(await readFile(e.file));
      const file = join(dir, `run-${String(++fileNo).padStart(3, '0')}.${track.startsWith('ts') ? 'ts' : 'mp4'}`);
      await writeFile(file, Buffer.concat(parts));
      const p = await probeFile(file);
      const where = `${track} segments ${run[0].key}..${run.at(-1).key} (${run.length}, ${file})`;
      if (p.errors !== '') violations.push(`${where}: ffprobe errors: ${p.errors.slice(0, 600)}`);
      const counts = [];
      for (const s of p.streams) {
        const frames = Number(s.nb_read_frames);
        counts.push(`${s.codec_type} ${frames}`);
        if (s.codec_type === 'video' && frames !== videoFrames * run.length) violations.push(`${where}: ${frames} video frames, expected ${videoFrames * run.length}`);
        if (!(frames > 0)) violations.push(`${where}: no ${s.codec_type} frames decoded`);
        const pts = p.packets.filter((x) => x.stream_index === s.index).map((x) => Number(x.pts)).filter(Number.isFinite).sort((a, b) => a - b);
        const diffs = pts.slice(1).map((x, i) => x - pts[i]);
        const step = [...diffs].sort((a, b) => a - b)[diffs.length >> 1];
        const bad = [];
        diffs.forEach((d, i) => {
          const wrong = s.codec_type === 'video' ? Math.abs(d - step) > 1 : d <= 0 || d > 1.5 * step;
          if (wrong) bad.push(`${pts[i]} -> ${pts[i + 1]} (${d} ticks of ${s.time_base}, frame ${step})`);
        });
        if (bad.length > 0) violations.push(`${where}: ${s.codec_type} presentation times not continuous at ${bad.length} places: ${bad.slice(0, 5).join('; ')}`);
      }
      lines.push(`${where.replace(/ \(.*\)$/, '')}: ${counts.join(', ')}`);
    }
  }
  return { lines, violations };
}
