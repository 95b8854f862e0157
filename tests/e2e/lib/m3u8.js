// A small, independent HLS playlist reader (RFC 8216bis) for assertions, plus the section 6
// timeline rules of docs/timeline.md as checks that return a list of violations.

/** Attribute list (RFC 8216bis 4.2): KEY=value,KEY="quoted, value" -> object. */
export function parseAttributes(text) {
  const attrs = {};
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    const v = m[2];
    attrs[m[1]] = v.startsWith('"') ? v.slice(1, -1) : v;
    if (m[0] === '') re.lastIndex++;
  }
  return attrs;
}

function lines(text) {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
}

/** Master playlist -> { variants: [{ attrs, uri }], media: [attrs] }. Throws if not one. */
export function parseMaster(text) {
  const ls = lines(text);
  if (ls[0] !== '#EXTM3U') throw new Error('master playlist does not start with #EXTM3U');
  const variants = [];
  const media = [];
  for (let i = 0; i < ls.length; i++) {
    if (ls[i].startsWith('#EXT-X-STREAM-INF:')) {
      const uri = ls[i + 1];
      if (!uri || uri.startsWith('#')) throw new Error(`EXT-X-STREAM-INF without URI at line ${i + 1}`);
      variants.push({ attrs: parseAttributes(ls[i].slice('#EXT-X-STREAM-INF:'.length)), uri });
    } else if (ls[i].startsWith('#EXT-X-MEDIA:')) {
      media.push(parseAttributes(ls[i].slice('#EXT-X-MEDIA:'.length)));
    }
  }
  return { variants, media };
}

/**
 * Media playlist -> { targetDuration, mediaSequence, discontinuitySequence, endList,
 * segments: [{ uri, duration, sequence, discontinuity, gap, programDateTime }] }.
 */
export function parseMedia(text) {
  const ls = lines(text);
  if (ls[0] !== '#EXTM3U') throw new Error('media playlist does not start with #EXTM3U');
  const pl = {
    targetDuration: null,
    mediaSequence: 0,
    discontinuitySequence: 0,
    endList: false,
    segments: [],
  };
  let pending = null;
  for (const l of ls) {
    const [tag, value] = l.startsWith('#') ? [l.split(':', 1)[0], l.slice(l.indexOf(':') + 1)] : [null, l];
    if (tag === '#EXT-X-TARGETDURATION') pl.targetDuration = Number(value);
    else if (tag === '#EXT-X-MEDIA-SEQUENCE') pl.mediaSequence = Number(value);
    else if (tag === '#EXT-X-DISCONTINUITY-SEQUENCE') pl.discontinuitySequence = Number(value);
    else if (tag === '#EXT-X-ENDLIST') pl.endList = true;
    else if (tag === '#EXT-X-DISCONTINUITY') (pending ??= {}).discontinuity = true;
    else if (tag === '#EXT-X-GAP') (pending ??= {}).gap = true;
    else if (tag === '#EXT-X-PROGRAM-DATE-TIME') (pending ??= {}).programDateTime = value;
    else if (tag === '#EXTINF') (pending ??= {}).duration = Number(value.split(',')[0]);
    else if (tag === null) {
      pl.segments.push({
        uri: value,
        duration: pending?.duration ?? NaN,
        sequence: pl.mediaSequence + pl.segments.length,
        discontinuity: pending?.discontinuity ?? false,
        gap: pending?.gap ?? false,
        programDateTime: pending?.programDateTime ?? null,
      });
      pending = null;
    }
  }
  return pl;
}

/** Rules of a master playlist (RFC 8216 4.3.4.1, 4.3.4.2). Returns violation strings. */
export function checkMaster({ variants, media }) {
  const v = [];
  if (variants.length === 0) v.push('no EXT-X-STREAM-INF');
  for (const x of variants) {
    if (!/^[1-9]\d*$/.test(x.attrs.BANDWIDTH ?? '')) v.push(`${x.uri}: BANDWIDTH missing or invalid`);
    for (const [attr, type] of [['AUDIO', 'AUDIO'], ['SUBTITLES', 'SUBTITLES']]) {
      const group = x.attrs[attr];
      if (group && !media.some((m) => m.TYPE === type && m['GROUP-ID'] === group)) {
        v.push(`${x.uri}: ${attr}="${group}" names no EXT-X-MEDIA group of TYPE=${type}`);
      }
    }
  }
  const names = new Set();
  for (const m of media) {
    const id = `${m.TYPE}/${m['GROUP-ID']}/${m.NAME}`;
    if (!m.TYPE || !m['GROUP-ID'] || !m.NAME) v.push(`EXT-X-MEDIA lacks TYPE, GROUP-ID or NAME: ${JSON.stringify(m)}`);
    if (names.has(id)) v.push(`EXT-X-MEDIA NAME "${m.NAME}" repeated in group ${m['GROUP-ID']}`);
    names.add(id);
    if (m.DEFAULT === 'YES' && m.AUTOSELECT !== undefined && m.AUTOSELECT !== 'YES') {
      v.push(`EXT-X-MEDIA NAME "${m.NAME}": DEFAULT=YES with AUTOSELECT=${m.AUTOSELECT} (must be YES when present)`);
    }
  }
  return v;
}

/** Minimum live window, in target durations (RFC 8216bis 6.2.2: at least three). */
export const MIN_LIVE_TARGET_DURATIONS = 3;

/** Rules that hold for one media playlist on its own. Returns violation strings. */
export function checkMedia(pl, { live = true } = {}) {
  const v = [];
  if (!Number.isInteger(pl.targetDuration) || pl.targetDuration <= 0) {
    v.push(`EXT-X-TARGETDURATION missing or not a positive integer: ${pl.targetDuration}`);
  }
  if (!Number.isInteger(pl.mediaSequence) || pl.mediaSequence < 0) {
    v.push(`EXT-X-MEDIA-SEQUENCE invalid: ${pl.mediaSequence}`);
  }
  if (pl.segments.length === 0) v.push('no segments');
  for (const s of pl.segments) {
    if (!(s.duration > 0)) v.push(`segment ${s.sequence} ${s.uri}: EXTINF missing or not positive`);
    else if (Math.round(s.duration) > pl.targetDuration) {
      v.push(`segment ${s.sequence} ${s.uri}: rounded EXTINF ${s.duration} > TARGETDURATION ${pl.targetDuration}`);
    }
  }
  if (live) {
    if (pl.endList) v.push('live playlist has EXT-X-ENDLIST');
    const total = pl.segments.reduce((a, s) => a + s.duration, 0);
    if (total < MIN_LIVE_TARGET_DURATIONS * pl.targetDuration) {
      v.push(`live playlist holds ${total.toFixed(3)} s < ${MIN_LIVE_TARGET_DURATIONS} target durations`);
    }
  }
  return v;
}

/**
 * Rules between two successive fetches of the same rendition: media sequence never decreases,
 * segments leave in order, a sequence number keeps its URI and duration.
 */
export function checkUpdate(prev, next) {
  const v = [];
  if (next.mediaSequence < prev.mediaSequence) {
    v.push(`EXT-X-MEDIA-SEQUENCE went back ${prev.mediaSequence} -> ${next.mediaSequence}`);
  }
  if (next.discontinuitySequence < prev.discontinuitySequence) {
    v.push(`EXT-X-DISCONTINUITY-SEQUENCE went back ${prev.discontinuitySequence} -> ${next.discontinuitySequence}`);
  }
  const before = new Map(prev.segments.map((s) => [s.sequence, s]));
  for (const s of next.segments) {
    const old = before.get(s.sequence);
    if (old && (old.uri !== s.uri || old.duration !== s.duration)) {
      v.push(`segment ${s.sequence} changed: ${old.uri} (${old.duration}) -> ${s.uri} (${s.duration})`);
    }
  }
  const prevLast = prev.segments.at(-1)?.sequence ?? -1;
  const nextLast = next.segments.at(-1)?.sequence ?? -1;
  if (nextLast < prevLast) v.push(`last segment went back ${prevLast} -> ${nextLast}`);
  return v;
}
