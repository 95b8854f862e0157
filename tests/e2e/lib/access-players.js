// Real players (lib/players.js) with every request the page makes to the origin recorded in
// full (URL, request headers, response status), so a test can check what a player sent on each
// URL: a signed token, an authorization header. play() results keep only the last 40 request
// lines; access checks need all of them, with headers.
import { startPlayers } from './players.js';

/**
 * Starts Chromium and the page server. Returns { play, close }: play() is lib/players.js's
 * (it plays until currentTime advanced `minAdvance` s, a fatal error or `timeoutMs`) plus
 * `exchanges`, every request to `originPrefix`: { method, url, headers, status } (status null
 * when no response came).
 */
export async function startRecordingPlayers() {
  const players = await startPlayers();
  const play = ({ originPrefix, ...opts }) =>
    players.play({ ...opts, observe: (page) => ({ exchanges: recordExchanges(page, originPrefix) }) });
  return { play, close: players.close };
}

function recordExchanges(page, originPrefix) {
  const exchanges = [];
  const byRequest = new Map();
  page.on('request', (r) => {
    if (!r.url().startsWith(originPrefix)) return;
    const x = { method: r.method(), url: r.url(), headers: r.headers(), status: null };
    byRequest.set(r, x);
    exchanges.push(x);
  });
  page.on('response', async (r) => {
    const x = byRequest.get(r.request());
    if (!x) return;
    x.status = r.status();
    // headers() leaves out security-related ones; allHeaders() has what was sent.
    x.headers = await r.request().allHeaders().catch(() => x.headers);
  });
  return exchanges;
}

/** A compact description of a play() result for assertion messages. */
export function describePlay(r) {
  const { player, url, advanced, elapsedMs, frames, fatal, warnings, events } = r;
  const exchanges = r.exchanges.map((x) => `${x.method} ${x.url} -> ${x.status}`);
  return JSON.stringify({ player, url, advanced, elapsedMs, frames, fatal, warnings, events, exchanges: exchanges.slice(-60) }, null, 1);
}
