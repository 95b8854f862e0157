// Reading the HTTP-FLV live endpoint in tests: a byte-level tag walker and streaming readers
// (flv.test.js, and the failover suite's FLV session across an encoder kill).

/**
 * The FLV tags in `bytes` (after the 9-byte header and the first PreviousTagSize): type,
 * timestamp (ms), the first two body bytes, a video tag's CompositionTime (`cts`, ms, SI24),
 * and `end`, the offset just after the tag's PreviousTagSize. A tag cut off at the end of
 * `bytes` is left out.
 */
export function parseTags(bytes) {
  const tags = [];
  let i = 13;
  while (i + 11 <= bytes.length) {
    const size = (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
    if (i + 11 + size + 4 > bytes.length) break;
    const ts = ((bytes[i + 7] << 24) >>> 0) + ((bytes[i + 4] << 16) | (bytes[i + 5] << 8) | bytes[i + 6]);
    const c = size >= 5 ? (bytes[i + 13] << 16) | (bytes[i + 14] << 8) | bytes[i + 15] : 0;
    const cts = bytes[i] === 9 ? (c & 0x800000 ? c - 0x1000000 : c) : 0;
    tags.push({ type: bytes[i], ts, cts, first: bytes[i + 11], second: bytes[i + 12], end: i + 11 + size + 4 });
    i += 11 + size + 4;
  }
  return tags;
}

/**
 * Reads the stream at `url` for `ms`; its bytes, the arrival time of its first byte, and each
 * chunk's arrival (`{ wallMs, end }`, as `openStream`).
 */
export async function readStream(url, ms) {
  const started = Date.now();
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const chunks = [];
  const arrivals = [];
  let length = 0;
  let firstByteMs = null;
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    for await (const chunk of res.body) {
      firstByteMs ??= Date.now() - started;
      chunks.push(chunk);
      length += chunk.length;
      arrivals.push({ wallMs: Date.now(), end: length });
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return { res, bytes: Buffer.concat(chunks), firstByteMs, chunks: chunks.length, arrivals };
}

/**
 * Opens the stream at `url` and keeps reading until `stop()`, which resolves to the status,
 * the bytes, each chunk's arrival (`{ wallMs, end }`: wall time and the byte offset it ends
 * at) and whether the origin ended the response itself (`ended`).
 */
export async function openStream(url) {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const chunks = [];
  const arrivals = [];
  let length = 0;
  let ended = false;
  const reading = (async () => {
    try {
      for await (const chunk of res.body) {
        chunks.push(chunk);
        length += chunk.length;
        arrivals.push({ wallMs: Date.now(), end: length });
      }
      ended = true;
    } catch (err) {
      if (err.name !== 'AbortError') throw err;
    }
  })();
  return {
    async stop() {
      controller.abort();
      await reading;
      return { status: res.status, bytes: Buffer.concat(chunks), arrivals, ended };
    },
  };
}

/** Wall time at which the byte before offset `end` arrived (from `openStream` arrivals). */
export function arrivalOf(arrivals, end) {
  return arrivals.find((a) => a.end >= end)?.wallMs ?? null;
}

/** The live endpoint's response header: the encoder's wall clock of the first segment. */
export const START_PDT_HEADER = 'x-edgepack-start-program-date-time';

/**
 * How far behind the encoder each video frame of a live FLV read arrived: per coded video
 * tag (AVCPacketType 1), its arrival wall time minus the encoder's wall time of the frame,
 * in seconds. The encoder's time is the starting segment's program date time (the response's
 * `START_PDT_HEADER`: ffmpeg's clock when `-re` released the segment's first frame) plus the
 * frame's presentation time (timestamp + CompositionTime) since the first video tag's: the
 * first video tag is that segment's first frame when segments start with a keyframe (the e2e
 * encoder's GOP is its segment). Returns `{ wallMs, latency, keyframe }` per tag, in order.
 */
export function frameLatencies(bytes, arrivals, startPdt) {
  const pdtMs = Date.parse(startPdt);
  if (!Number.isFinite(pdtMs)) throw new Error(`no ${START_PDT_HEADER} (${startPdt})`);
  const frames = parseTags(bytes).filter((t) => t.type === 9 && t.second === 1);
  if (!frames.length) return [];
  const first = frames[0].ts + frames[0].cts;
  return frames.map((t) => {
    const wallMs = arrivalOf(arrivals, t.end);
    return { wallMs, latency: (wallMs - (pdtMs + (t.ts + t.cts - first))) / 1000, keyframe: t.first >> 4 === 1 };
  });
}
