// Time to first frame of HTTP-FLV (mpegts.js) against HLS (hls.js) from the same origin and the
// same live push: each start opens a fresh page and measures from the player's start to the
// first `playing` event and to the first decoded frame. Run by hand (`make ttff`), not part of
// `make test`:
//
//   cd tests && node bench/ttff.js [--starts 20] [--json out.json]
//
// The built Worker in workerd (Miniflare), ffmpeg pushing live HLS in real time
// (e2e/lib/encoder.js: 640x360 + 320x180 + AAC group, 2 s segments), one channel with an FLV
// and an HLS (TS) endpoint; the two players alternate, start after start, after a random delay
// within one segment (where in the segment cycle a player starts matters to both). Everything
// on 127.0.0.1.
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { startOrigin } from '../e2e/lib/origin.js';
import { startEncoder, tail } from '../e2e/lib/encoder.js';
import { startPlayers } from '../e2e/lib/players.js';
import { createChannel } from '../e2e/lib/packaging-channel.js';
import { readMaster } from '../e2e/lib/endpoint.js';
import { tempDir } from '../e2e/lib/paths.js';
import { waitFor } from '../e2e/lib/wait.js';

const SEGMENT_S = 2;
/** Per start: the page gets this long to play before the start counts as failed. */
const START_TIMEOUT_MS = 20_000;

function parseArgs(argv) {
  const opts = { starts: 20, json: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--starts') opts.starts = Number(argv[++i]);
    else if (argv[i] === '--json') opts.json = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(Number.isInteger(opts.starts) && opts.starts >= 1 && opts.starts <= 100)) throw new Error('--starts must be 1-100');
  return opts;
}

const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = await tempDir('bench-ttff');
  const origin = await startOrigin({ dir: join(dir, 'origin') });
  const players = await startPlayers();
  let encoder = null;
  let ok = false;
  const load = [loadavg()[0]];
  try {
    const made = await createChannel(origin, {
      group: 'bench-ttff',
      channel: 'ttff',
      endpoints: [{ name: 'flv', protocol: 'FLV' }, { name: 'hls', protocol: 'HLS' }],
    });
    encoder = startEncoder({
      base: made.input.url,
      seconds: 60 + opts.starts * 2 * 12,
      auth: { username: made.input.username, password: made.input.password },
      logFile: join(dir, 'ffmpeg.log'),
    });
    const hlsUrl = made.endpoints.hls.url;
    await waitFor('three segments in every rendition', async () => {
      const m = await readMaster(hlsUrl);
      if (m.renditions.length < 3) return false;
      for (const r of m.renditions) if (((await (await fetch(r.url)).text()).match(/#EXTINF/g) ?? []).length < 3) return false;
      return true;
    }, { timeoutMs: 60_000 }).catch((err) => {
      throw new Error(`${err.message}\n${tail(encoder.log(), 10)}`);
    });
    const cases = { 'mpegts.js (HTTP-FLV)': { player: 'mpegts.js', url: made.endpoints.flv.url }, 'hls.js (HLS TS)': { player: 'hls.js', url: hlsUrl } };
    const results = Object.fromEntries(Object.keys(cases).map((k) => [k, { ttff: [], failed: 0 }]));
    for (let i = 0; i < opts.starts; i++) {
      for (const [name, c] of Object.entries(cases)) {
        await new Promise((r) => setTimeout(r, Math.random() * SEGMENT_S * 1000));
        const r = await players.play({ player: c.player, url: c.url, minAdvance: 0.5, timeoutMs: START_TIMEOUT_MS });
        // From the page's start (Node's clock before the page opened) to the first `playing`.
        const t0 = r.nowMs - r.elapsedMs;
        if (r.fatal.length > 0 || !r.startWallMs) {
          results[name].failed++;
          console.error(`${name} start ${i}: ${JSON.stringify(r.fatal)}`);
        } else results[name].ttff.push(r.startWallMs - t0);
      }
      load.push(loadavg()[0]);
    }
    console.log(`edgepack time to first frame, local workerd (Miniflare), ${new Date().toISOString()}`);
    console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}; 1-min load ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)}`);
    console.log(`${opts.starts} starts per player, alternating, each in a fresh page after a random delay within one ${SEGMENT_S} s segment`);
    console.log('');
    console.log('| player (endpoint) | starts | failed | p10 ms | median ms | p90 ms | min-max ms |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const [name, r] of Object.entries(results)) {
      const s = [...r.ttff].sort((a, b) => a - b);
      console.log(`| ${name} | ${s.length} | ${r.failed} | ${quantile(s, 0.1)} | ${quantile(s, 0.5)} | ${quantile(s, 0.9)} | ${s[0]}-${s.at(-1)} |`);
    }
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ opts, results, load }, null, 1));
    ok = true;
  } finally {
    encoder?.stop('SIGKILL');
    await encoder?.done.catch(() => {});
    await players.close();
    await origin.dispose();
    if (ok && !process.env.EDGEPACK_E2E_KEEP) await rm(dir, { recursive: true, force: true });
    else console.error(`state and logs kept in ${dir}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
