// HLS-CMAF specifics on top of lib/m3u8.js: the EXT-X-MAP in effect for each segment, and the
// output segment number a CMAF segment name carries (`{kind}_{n}.m4s`).
import { parseAttributes } from './m3u8.js';
import { readMedia } from './endpoint.js';

/**
 * A rendition playlist with, per segment, `url`, `map` (absolute URL of the EXT-X-MAP in effect,
 * RFC 8216bis 4.4.4.5) and `number` (from the file name; positions skip gaps, names do not).
 */
export async function readCmafMedia(url) {
  const media = await readMedia(url);
  const maps = [];
  let map = null;
  for (const line of media.text.split(/\r?\n/)) {
    const l = line.trim();
    if (l.startsWith('#EXT-X-MAP:')) map = parseAttributes(l.slice('#EXT-X-MAP:'.length)).URI ?? null;
    else if (l !== '' && !l.startsWith('#')) maps.push(map);
  }
  media.playlist.segments.forEach((s, i) => {
    s.url = new URL(s.uri, url).href;
    s.map = maps[i] ? new URL(maps[i], url).href : null;
    const m = /_(\d+)\.m4s$/.exec(s.uri);
    s.number = m ? Number(m[1]) : NaN;
  });
  return media;
}

/** The rendition directory of a playlist URL below an endpoint base (`.../{endpoint}/`). */
export function renditionDir(playlistUrl, endpointBase) {
  const path = playlistUrl.slice(endpointBase.length);
  return path.slice(0, path.lastIndexOf('/'));
}

/** The base URL of an endpoint (its manifest URL without the file name), ending in `/`. */
export function endpointBase(manifestUrl) {
  return manifestUrl.slice(0, manifestUrl.lastIndexOf('/') + 1);
}
