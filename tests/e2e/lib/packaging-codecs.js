// RFC 6381 codec strings checked against what the init segment carries: an independent ISO BMFF
// box walk (ISO/IEC 14496-12) reads avcC (14496-15 5.3.3.1) and esds (14496-1 7.2.6.5, 14496-3
// 1.6.2.1), and ffprobe's decoded profile and level must agree.

/** Boxes whose payload is only boxes (14496-12), and sample entries with their field bytes. */
const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'edts', 'dinf']);
/** Bytes before the child boxes: stsd (FullBox + entry_count), VisualSampleEntry, AudioSampleEntry. */
const SKIP = { stsd: 8, avc1: 78, avc3: 78, hvc1: 78, hev1: 78, mp4a: 28 };

/** Top-level and nested boxes -> [{ type, start, end, payload, children }]; throws on a bad size. */
export function readBoxes(buf, start = 0, end = buf.length, depth = 0) {
  const boxes = [];
  let pos = start;
  while (pos < end) {
    if (end - pos < 8) throw new Error(`truncated box header at byte ${pos}`);
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (end - pos < 16) throw new Error(`truncated largesize at byte ${pos}`);
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < header || pos + size > end) throw new Error(`box '${type}' at byte ${pos} has size ${size} beyond its parent (ends ${end})`);
    const box = { type, start: pos, end: pos + size, payload: buf.subarray(pos + header, pos + size), children: [] };
    const skip = SKIP[type];
    if (depth < 12 && (CONTAINERS.has(type) || skip !== undefined)) {
      box.children = readBoxes(buf, pos + header + (skip ?? 0), pos + size, depth + 1);
    }
    boxes.push(box);
    pos += size;
  }
  return boxes;
}

/** The first box of `type` in a depth-first walk. */
export function findBox(boxes, type) {
  for (const b of boxes) {
    if (b.type === type) return b;
    const inner = findBox(b.children, type);
    if (inner) return inner;
  }
  return null;
}

/** avcC: { codec: 'avc1.PPCCLL' with the sample entry's 4CC, profile_idc, level_idc }. */
export function avcConfig(init) {
  const boxes = readBoxes(init);
  const avcC = findBox(boxes, 'avcC');
  if (!avcC) return null;
  const entry = ['avc1', 'avc3'].map((t) => findBox(boxes, t)).find(Boolean);
  const p = avcC.payload;
  if (p.length < 4) throw new Error('avcC shorter than 4 bytes');
  const hex = p.subarray(1, 4).toString('hex');
  return { codec: `${entry?.type ?? 'avc1'}.${hex}`, profile_idc: p[1], level_idc: p[3] };
}

/** An MPEG-4 descriptor length (14496-1 8.3.3): up to four 7-bit groups. */
function descriptorLength(p, pos) {
  let len = 0;
  for (let i = 0; i < 4; i++) {
    const b = p[pos + i];
    if (b === undefined) throw new Error('truncated descriptor length');
    len = (len << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) return { len, next: pos + i + 1 };
  }
  throw new Error('descriptor length over four bytes');
}

/** esds: { codec: 'mp4a.OTI.AOT', object_type_indication, audio_object_type }. */
export function aacConfig(init) {
  const esds = findBox(readBoxes(init), 'esds');
  if (!esds) return null;
  const p = esds.payload;
  let pos = 4; // FullBox version and flags
  if (p[pos] !== 0x03) throw new Error(`esds: ES_Descriptor tag ${p[pos]}`);
  pos = descriptorLength(p, pos + 1).next;
  const flags = p[pos + 2];
  pos += 3;
  if (flags & 0x80) pos += 2; // streamDependenceFlag
  if (flags & 0x40) pos += 1 + p[pos]; // URL_Flag
  if (flags & 0x20) pos += 2; // OCRstreamFlag
  if (p[pos] !== 0x04) throw new Error(`esds: DecoderConfigDescriptor tag ${p[pos]}`);
  pos = descriptorLength(p, pos + 1).next;
  const oti = p[pos];
  pos += 13;
  if (p[pos] !== 0x05) throw new Error(`esds: DecoderSpecificInfo tag ${p[pos]}`);
  pos = descriptorLength(p, pos + 1).next;
  let aot = p[pos] >> 3;
  if (aot === 31) aot = 32 + (((p[pos] & 0x07) << 3) | (p[pos + 1] >> 5));
  return { codec: `mp4a.${oti.toString(16)}.${aot}`, object_type_indication: oti, audio_object_type: aot };
}

/** ffprobe's H.264 profile names -> profile_idc (ITU-T H.264 A.2). */
const H264_PROFILES = {
  Baseline: 66,
  'Constrained Baseline': 66,
  Main: 77,
  Extended: 88,
  High: 100,
  'High 10': 110,
  'High 4:2:2': 122,
  'High 4:4:4 Predictive': 244,
};
/** ffprobe's AAC profile names -> audioObjectType (14496-3 1.5.1.1). */
const AAC_PROFILES = { Main: 1, LC: 2, SSR: 3, LTP: 4, 'HE-AAC': 5, 'HE-AACv2': 29 };

/**
 * Checks one codec of a CODECS attribute against the init segment and ffprobe's stream (of
 * init + a media segment, so the decoder was opened). Returns violation strings.
 */
export function checkCodec(codec, init, stream) {
  const v = [];
  if (/^avc[13]\./.test(codec)) {
    const cfg = avcConfig(init);
    if (!cfg) return [`${codec}: the init segment has no avcC`];
    if (codec.toLowerCase() !== cfg.codec) v.push(`CODECS ${codec} but avcC says ${cfg.codec}`);
    const pp = parseInt(codec.slice(5, 7), 16);
    const ll = parseInt(codec.slice(9, 11), 16);
    const wantProfile = H264_PROFILES[stream?.profile];
    if (wantProfile === undefined) v.push(`${codec}: ffprobe profile ${JSON.stringify(stream?.profile)} unknown`);
    else if (pp !== wantProfile) v.push(`${codec}: profile_idc ${pp} but ffprobe decodes ${stream.profile} (${wantProfile})`);
    if (ll !== Number(stream?.level)) v.push(`${codec}: level_idc ${ll} but ffprobe decodes level ${stream?.level}`);
  } else if (/^mp4a\./.test(codec)) {
    const cfg = aacConfig(init);
    if (!cfg) return [`${codec}: the init segment has no esds`];
    if (codec.toLowerCase() !== cfg.codec) v.push(`CODECS ${codec} but esds says ${cfg.codec}`);
    const aot = Number(codec.split('.')[2]);
    const want = AAC_PROFILES[stream?.profile];
    if (want === undefined) v.push(`${codec}: ffprobe profile ${JSON.stringify(stream?.profile)} unknown`);
    else if (aot !== want) v.push(`${codec}: audioObjectType ${aot} but ffprobe decodes ${stream.profile} (${want})`);
  } else {
    v.push(`${codec}: not a codec this test pushes`);
  }
  return v;
}
