// Reading the HTTP-FLV live endpoint in tests: a byte-level tag walker and streaming readers
// (flv.test.js, and the failover suite's FLV session across an encoder kill).

/**
 * The FLV tags in `bytes` (after the 9-byte header and the first PreviousTagSize): type,
 * timestamp (ms), the first two body bytes, and `end`, the offset just after the tag's
 * PreviousTagSize. A tag cut off at the end of `bytes` is left out.
 */
export function parseTags(bytes) {
  const tags = [];
  let i = 13;
  while (i + 11 <= bytes.length) {
    const size = (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
    if (i + 11 + size + 4 > bytes.length) break;
    const ts = ((bytes[i + 7] << 24) >>> 0) + ((bytes[i + 4] << 16) | (bytes[i + 5] << 8) | bytes[i + 6]);
    tags.push({ type: bytes[i], ts, first: bytes[i + 11], second: bytes[i + 12], end: i + 11 + size + 4 });
    i += 11 + size + 4;
  }
  return tags;
}

/** Reads the stream at `url` for `ms`; its bytes and the arrival time of its first byte. */
export async function readStream(url, ms) {
  const started = Date.now();
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const chunks = [];
  let firstByteMs = null;
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    for await (const chunk of res.body) {
      firstByteMs ??= Date.now() - started;
      chunks.push(chunk);
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return { res, bytes: Buffer.concat(chunks), firstByteMs, chunks: chunks.length };
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
