// An independent MPD reader (ISO/IEC 23009-1) and the DASH rules of docs/timeline.md ("DASH rules as implemented") as checks
// that return lists of violations. XML well-formedness is checked by `sax` in strict mode: it
// is already in tests/node_modules (dashjs 5.2.1 -> imsc -> sax), nothing new is installed.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function loadSax() {
  try {
    return require('sax');
  } catch (err) {
    throw new Error(`the XML parser 'sax' is missing from tests/node_modules (it comes with dashjs via imsc): ${err.message}`);
  }
}

/**
 * Parses XML text in strict mode into { name, attrs, children, text } elements; throws with
 * line and column on the first well-formedness error.
 */
export function parseXml(text) {
  const parser = loadSax().parser(true, { xmlns: false, position: true });
  const stack = [];
  let root = null;
  let error = null;
  parser.onerror = (e) => {
    error ??= e;
    parser.error = null;
    parser.resume();
  };
  parser.onopentag = (node) => {
    const el = { name: node.name, attrs: { ...node.attributes }, children: [], text: '' };
    if (stack.length > 0) stack.at(-1).children.push(el);
    else if (root === null) root = el;
    else error ??= new Error('more than one root element');
    stack.push(el);
  };
  parser.onclosetag = () => stack.pop();
  parser.ontext = (t) => {
    if (stack.length > 0) stack.at(-1).text += t;
    else if (t.trim() !== '') error ??= new Error(`text outside the root element: ${t.trim().slice(0, 40)}`);
  };
  parser.write(text).close();
  if (error) throw new Error(`MPD is not well-formed XML: ${error.message.replace(/\n/g, ' ')}`);
  if (root === null) throw new Error('MPD has no root element');
  return root;
}

const kids = (el, name) => el.children.filter((c) => c.name === name);
const kid = (el, name) => kids(el, name)[0] ?? null;

/** xs:duration as used in MPDs (PnYnMnDTnHnMnS without years and months) -> seconds. */
export function parseDuration(text) {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text ?? '');
  if (!m || text === 'P' || text.endsWith('T')) return NaN;
  const [, d = 0, h = 0, min = 0, s = 0] = m;
  return Number(d) * 86400 + Number(h) * 3600 + Number(min) * 60 + Number(s);
}

/** xs:dateTime -> Unix ms (NaN when not a date with a time zone). */
export function parseDateTime(text) {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text ?? '')) return NaN;
  return Date.parse(text);
}

/**
 * SegmentTimeline S elements -> [{ t, d, explicitT }] with `r` expanded (5.3.9.6). A missing
 * first `t` is 0 by the spec; `explicitT` marks where the MPD stated one.
 */
export function expandTimeline(sElements) {
  const out = [];
  let next = 0;
  for (const s of sElements) {
    const d = Number(s.attrs.d);
    const r = s.attrs.r === undefined ? 0 : Number(s.attrs.r);
    const explicitT = s.attrs.t !== undefined;
    let t = explicitT ? Number(s.attrs.t) : next;
    for (let i = 0; i <= r; i++) {
      out.push({ t, d, explicitT: explicitT && i === 0 });
      t += d;
    }
    next = t;
  }
  return out;
}

/**
 * The parts of an MPD the checks need: { attrs, periods: [{ id, start, sets: [{ contentType,
 * mimeType, reps: [{ id, bandwidth, codecs, width, height, timescale, pto, initialization,
 * media, startNumber, segments }] }] }], utcTiming: [{ schemeIdUri, value }] }.
 */
export function readMpd(text) {
  const root = parseXml(text);
  if (root.name !== 'MPD') throw new Error(`root element is ${root.name}, not MPD`);
  const periods = kids(root, 'Period').map((p) => ({
    id: p.attrs.id,
    start: p.attrs.start,
    sets: kids(p, 'AdaptationSet').map((a) => ({
      id: a.attrs.id,
      contentType: a.attrs.contentType,
      mimeType: a.attrs.mimeType,
      reps: kids(a, 'Representation').map((r) => {
        const tpl = kid(r, 'SegmentTemplate') ?? kid(a, 'SegmentTemplate');
        const timeline = tpl && kid(tpl, 'SegmentTimeline');
        return {
          id: r.attrs.id,
          bandwidth: r.attrs.bandwidth,
          codecs: r.attrs.codecs ?? a.attrs.codecs,
          width: r.attrs.width,
          height: r.attrs.height,
          audioSamplingRate: r.attrs.audioSamplingRate,
          timescale: Number(tpl?.attrs.timescale ?? 1),
          pto: Number(tpl?.attrs.presentationTimeOffset ?? 0),
          initialization: tpl?.attrs.initialization ?? null,
          media: tpl?.attrs.media ?? null,
          startNumber: tpl?.attrs.startNumber === undefined ? 1 : Number(tpl.attrs.startNumber),
          segments: timeline ? expandTimeline(kids(timeline, 'S')) : [],
        };
      }),
    })),
  }));
  const utcTiming = kids(root, 'UTCTiming').map((u) => ({ ...u.attrs }));
  return { attrs: { ...root.attrs }, periods, utcTiming, text };
}

/** Every representation of every period, as [periodId, rep]. */
export function representations(mpd) {
  return mpd.periods.flatMap((p) => p.sets.flatMap((s) => s.reps.map((r) => [p.id, r, s])));
}

/** A `$Time$` (or `$Number$`) template resolved against the MPD URL. */
export function segmentUrl(mpdUrl, template, { time, number } = {}) {
  const path = template
    .replace(/\$Time\$/g, String(time))
    .replace(/\$Number\$/g, String(number))
    .replace(/\$\$/g, '$');
  return new URL(path, mpdUrl).href;
}

/**
 * Rules for one MPD fetch against the endpoint's settings: a dynamic MPD with the attributes
 * DASH-IF IOP needs, the endpoint's seconds, SegmentTimeline continuity (t + d = next t) and the
 * listed span within timeShiftBufferDepth.
 */
export function checkMpd(mpd, endpoint) {
  const v = [];
  const a = mpd.attrs;
  if (a.type !== 'dynamic') v.push(`MPD@type ${a.type}, expected dynamic`);
  if (!/urn:mpeg:dash:profile:isoff-live:2011/.test(a.profiles ?? '')) v.push(`MPD@profiles lacks isoff-live: ${a.profiles}`);
  for (const attr of ['availabilityStartTime', 'publishTime']) {
    if (Number.isNaN(parseDateTime(a[attr]))) v.push(`MPD@${attr} is not an xs:dateTime with zone: ${a[attr]}`);
  }
  const seconds = {
    timeShiftBufferDepth: endpoint.manifest_window,
    minBufferTime: endpoint.min_buffer_time,
    minimumUpdatePeriod: endpoint.min_update_period,
    suggestedPresentationDelay: endpoint.suggested_presentation_delay,
  };
  for (const [attr, want] of Object.entries(seconds)) {
    const got = parseDuration(a[attr]);
    // null: automatic (the hold-back rule, checked by the core's tests): any duration.
    if (want === null ? !(got >= 0) : got !== want) {
      v.push(`MPD@${attr}="${a[attr]}" (${got} s), endpoint setting is ${want} s`);
    }
  }
  if (mpd.periods.length === 0) v.push('no Period');
  for (const p of mpd.periods) {
    if (!p.id) v.push('a Period without @id (needed in a dynamic MPD)');
    if (Number.isNaN(parseDuration(p.start))) v.push(`Period ${p.id}: @start "${p.start}" is not a duration`);
  }
  const depth = parseDuration(a.timeShiftBufferDepth);
  for (const [pid, r] of representations(mpd)) {
    const where = `Period ${pid} Representation ${r.id}`;
    if (!r.media || !r.initialization) v.push(`${where}: SegmentTemplate without media or initialization`);
    if (!/\$Time\$/.test(r.media ?? '')) v.push(`${where}: media template has no $Time$: ${r.media}`);
    if (!(r.timescale > 0)) v.push(`${where}: timescale ${r.timescale}`);
    if (r.segments.length === 0) v.push(`${where}: empty SegmentTimeline`);
    if (r.segments.length > 0 && !r.segments[0].explicitT) v.push(`${where}: first S has no @t`);
    for (let i = 0; i < r.segments.length; i++) {
      const s = r.segments[i];
      if (!(Number.isInteger(s.d) && s.d > 0)) v.push(`${where}: S[${i}] d=${s.d}`);
      const next = r.segments[i + 1];
      if (next && s.t + s.d !== next.t) {
        v.push(`${where}: SegmentTimeline not continuous: t=${s.t} + d=${s.d} = ${s.t + s.d} but next t=${next.t} (gap ${next.t - s.t - s.d} ticks of 1/${r.timescale})`);
      }
    }
    const span = r.segments.reduce((x, s) => x + s.d, 0) / r.timescale;
    if (span > depth + 1e-9) v.push(`${where}: lists ${span.toFixed(3)} s > timeShiftBufferDepth ${depth} s`);
  }
  return v;
}

/**
 * Rules between two successive fetches: availabilityStartTime fixed, a Period keeps @id and
 * @start, publishTime never goes back, a listed segment keeps its duration, timelines never
 * move back.
 */
export function checkMpdUpdate(prev, next) {
  const v = [];
  if (prev.attrs.availabilityStartTime !== next.attrs.availabilityStartTime) {
    v.push(`availabilityStartTime changed ${prev.attrs.availabilityStartTime} -> ${next.attrs.availabilityStartTime}`);
  }
  if (parseDateTime(next.attrs.publishTime) < parseDateTime(prev.attrs.publishTime)) {
    v.push(`publishTime went back ${prev.attrs.publishTime} -> ${next.attrs.publishTime}`);
  }
  const starts = new Map(prev.periods.map((p) => [p.id, p.start]));
  for (const p of next.periods) {
    if (starts.has(p.id) && starts.get(p.id) !== p.start) v.push(`Period ${p.id}: @start changed ${starts.get(p.id)} -> ${p.start}`);
  }
  const before = new Map(representations(prev).map(([pid, r]) => [`${pid}/${r.id}`, r]));
  for (const [pid, r] of representations(next)) {
    const old = before.get(`${pid}/${r.id}`);
    if (!old) continue;
    const d = new Map(old.segments.map((s) => [s.t, s.d]));
    for (const s of r.segments) {
      if (d.has(s.t) && d.get(s.t) !== s.d) v.push(`${pid}/${r.id}: segment t=${s.t} changed d ${d.get(s.t)} -> ${s.d}`);
    }
    const lastOld = old.segments.at(-1)?.t ?? -Infinity;
    const lastNew = r.segments.at(-1)?.t ?? -Infinity;
    if (lastNew < lastOld) v.push(`${pid}/${r.id}: newest segment went back t=${lastOld} -> ${lastNew}`);
  }
  return v;
}
