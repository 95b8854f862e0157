// Reading an HLS endpoint the way a player does: master, then each rendition, then segments.
import { parseMaster, parseMedia, checkMedia, checkUpdate } from './m3u8.js';
import { repeat } from './wait.js';

/** GET with a description of the exchange for assertion messages. */
export async function get(url, headers = {}) {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return {
    url,
    status: res.status,
    headers: res.headers,
    body,
    text: body.toString('utf8'),
    describe: () =>
      `GET ${url} -> ${res.status} ${JSON.stringify(Object.fromEntries(res.headers))}\n${body.toString('utf8').slice(0, 600)}`,
  };
}

/**
 * The master at `masterUrl` and every rendition it names: video variants (with RESOLUTION)
 * and EXT-X-MEDIA renditions with a URI. Returns { master, text, renditions } where each
 * rendition is { kind, url, attrs }.
 */
export async function readMaster(masterUrl) {
  const res = await get(masterUrl);
  if (res.status !== 200) throw new Error(`master not available: ${res.describe()}`);
  const master = parseMaster(res.text);
  const renditions = [];
  for (const v of master.variants) {
    renditions.push({ kind: v.attrs.RESOLUTION ? 'video' : 'variant', url: new URL(v.uri, masterUrl).href, attrs: v.attrs });
  }
  for (const m of master.media) {
    if (m.URI) renditions.push({ kind: m.TYPE.toLowerCase(), url: new URL(m.URI, masterUrl).href, attrs: m });
  }
  return { master, text: res.text, response: res, renditions };
}

/** A rendition playlist, parsed; throws with the exchange on a non-200. */
export async function readMedia(url) {
  const res = await get(url);
  if (res.status !== 200) throw new Error(`rendition playlist not available: ${res.describe()}`);
  return { playlist: parseMedia(res.text), text: res.text, response: res };
}

/**
 * Polls every rendition of a master until stopped, recording each fetch and every violation
 * of the playlist rules (on its own and against the previous fetch), plus renditions whose
 * EXT-X-DISCONTINUITY-SEQUENCE disagree.
 */
export function monitorLive(renditionUrls, { intervalMs = 1000 } = {}) {
  const violations = [];
  const history = new Map(renditionUrls.map((u) => [u, []]));
  const poller = repeat(async () => {
    const round = [];
    for (const url of renditionUrls) {
      try {
        const { playlist } = await readMedia(url);
        const list = history.get(url);
        const prev = list.at(-1);
        for (const v of checkMedia(playlist, { live: !playlist.endList })) violations.push(`${url}: ${v}`);
        if (prev) for (const v of checkUpdate(prev, playlist)) violations.push(`${url}: ${v}`);
        list.push(playlist);
        round.push(playlist.discontinuitySequence);
      } catch (err) {
        violations.push(`${url}: ${err.message}`);
      }
    }
    if (new Set(round).size > 1) violations.push(`EXT-X-DISCONTINUITY-SEQUENCE differs across renditions: ${round}`);
  }, intervalMs);
  return { violations, history, stop: poller.stop };
}
