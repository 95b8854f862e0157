// The same requests through both platforms: the Worker (workerd via Miniflare) and the Spin
// component (wasmtime host). One ffmpeg recording is replayed to both, segment by segment with a
// growing media playlist as a live encoder would PUT them; then the API answers, manifests and
// segments must be byte-identical apart from the host name in absolute URLs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startOrigin } from '../lib/origin.js';
import { startSpinOrigin } from '../lib/spin-host.js';
import { record, replay } from '../lib/spin-replay.js';
import { get, readMaster } from '../lib/endpoint.js';
import { tempDir } from '../lib/paths.js';

/** Recorded seconds: 4 segments of 2 s per rendition. */
const RECORD_SECONDS = 8;
const NAMES = { group: 'x-group', channel: 'x-channel', endpoint: 'x-hls' };
/** Packaged endpoints compared beside the HLS (TS) one. */
const PACKAGED = { cmaf: { name: 'x-cmaf', protocol: 'HLS_CMAF' }, dash: { name: 'x-dash', protocol: 'DASH' } };
const CHANNEL = `/api/v1/groups/${NAMES.group}/channels/${NAMES.channel}`;
/** Response headers that must agree (Date and the like are the runtime's own). */
const COMPARED_HEADERS = ['content-type', 'cache-control', 'access-control-allow-origin', 'www-authenticate'];

/** The response with every occurrence of the platform's base URL replaced by a placeholder,
 * and the channel's storage-id directory in segment URLs (random per platform) by `~ID/`. */
function normalized(res, url) {
  return {
    status: res.status,
    headers: Object.fromEntries(COMPARED_HEADERS.map((h) => [h, res.headers.get(h)])),
    body: res.body.toString('latin1').replaceAll(url, 'ORIGIN').replace(/~[A-Za-z0-9]+\//g, '~ID/'),
  };
}

describe('cross-platform: Worker and Spin answer the same requests with the same bytes', { timeout: 180_000 }, () => {
  let dir, worker, spin;
  let recording;
  let inputs;

  before(async () => {
    dir = await tempDir('cross');
    recording = await record(join(dir, 'src'), RECORD_SECONDS);
    [worker, spin] = await Promise.all([
      startOrigin({ dir: join(dir, 'worker') }),
      startSpinOrigin({ dir: join(dir, 'spin') }),
    ]);
  });

  after(async () => {
    await worker?.dispose();
    await spin?.dispose();
  });

  /** The same API calls on one platform; returns the normalized answers and the channel. */
  async function setUp(origin) {
    const answers = [];
    const call = async (method, path, body, opts) => {
      const res = await origin.api(method, path, body, opts);
      answers.push({ request: res.request, status: res.status, body: res.text.replaceAll(origin.url, 'ORIGIN') });
      return res;
    };
    await call('POST', '/api/v1/groups', { name: NAMES.group });
    const channel = await call('POST', `/api/v1/groups/${NAMES.group}/channels`, { name: NAMES.channel, max_segment_duration: 6 });
    await call('POST', `${CHANNEL}/endpoints`, { name: NAMES.endpoint, segment_count: 3, stream_order: 'descending' });
    for (const e of Object.values(PACKAGED)) await call('POST', `${CHANNEL}/endpoints`, e);
    await call('POST', `${CHANNEL}/endpoints`, { name: 'bad', segment_count: 101 });
    await call('GET', '/api/v1/groups', undefined, { token: 'wrong' });
    await call('DELETE', CHANNEL);
    await call('GET', `${CHANNEL}/endpoints/${NAMES.endpoint}`);
    // Answers carry random credentials and ids, and creation times: compared without them.
    for (const a of answers) {
      a.body = a.body
        .replace(/"(username|password|id|created_at)":"[^"]*"/g, '"$1":"…"')
        .replace(/\/in\/v1\/[^"]*/g, '/in/v1/…');
    }
    return { answers, input: channel.json.inputs[0] };
  }

  /** Every manifest and segment of an HLS endpoint, normalized, plus a few error answers. */
  async function readEndpoint(origin, endpoint = NAMES.endpoint) {
    const masterUrl = `${origin.url}/out/v1/${NAMES.group}/${NAMES.channel}/${endpoint}/manifest.m3u8`;
    const out = { master: normalized(await get(masterUrl), origin.url) };
    const { renditions } = await readMaster(masterUrl);
    out.renditions = [];
    for (const url of new Set(renditions.map((r) => r.url))) {
      const playlist = await get(url);
      const segments = [];
      const uris = playlist.text.split('\n').flatMap((l) => (l.startsWith('#') ? [...l.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]) : l ? [l] : []));
      for (const line of uris) {
        segments.push(normalized(await get(new URL(line, url).href), origin.url));
      }
      out.renditions.push({ url: url.replace(origin.url, 'ORIGIN'), playlist: normalized(playlist, origin.url), segments });
    }
    out.missing = normalized(await get(masterUrl.replace('manifest.m3u8', 'nope/media.m3u8')), origin.url);
    return out;
  }

  it('control API answers agree', async () => {
    const [w, s] = await Promise.all([setUp(worker), setUp(spin)]);
    inputs = { worker: w.input, spin: s.input };
    assert.deepEqual(s.answers, w.answers, 'both builds must come from the same tree: run `make worker spin`');
  });

  it('manifests, segments and errors agree after the same ingest', async () => {
    assert.ok(inputs, 'precondition: API set up');
    await Promise.all([replay(recording, inputs.worker), replay(recording, inputs.spin)]);
    const [w, s] = [await readEndpoint(worker), await readEndpoint(spin)];
    assert.equal(w.renditions.length, 3, `three renditions: ${w.master.body}`);
    assert.ok(w.renditions.every((r) => r.segments.length >= 3), `at least three segments per rendition: ${w.renditions.map((r) => r.playlist.body).join('\n')}`);
    assert.equal(s.master.body, w.master.body, 'master playlists');
    for (const [i, r] of w.renditions.entries()) {
      assert.equal(s.renditions[i]?.url, r.url);
      assert.equal(s.renditions[i].playlist.body, r.playlist.body, `rendition playlist ${r.url}`);
    }
    assert.deepEqual(s, w, 'every answer (status, compared headers, body)');
  });

  it('HLS-CMAF manifests, init and media segments, and the DASH MPD agree', async () => {
    assert.ok(inputs, 'precondition: API set up and ingest replayed');
    const [w, s] = [await readEndpoint(worker, PACKAGED.cmaf.name), await readEndpoint(spin, PACKAGED.cmaf.name)];
    assert.ok(w.renditions.length === 3 && w.renditions.every((r) => r.segments.length >= 4), `CMAF renditions with init + media segments: ${w.master.body}`);
    assert.deepEqual(s, w, 'every HLS-CMAF answer (status, compared headers, body)');
    const mpd = (origin) => get(`${origin.url}/out/v1/${NAMES.group}/${NAMES.channel}/${PACKAGED.dash.name}/manifest.mpd`);
    const [wm, sm] = [normalized(await mpd(worker), worker.url), normalized(await mpd(spin), spin.url)];
    assert.equal(wm.status, 200, wm.body.slice(0, 300));
    // publishTime is the time of the request (DASH-IF IOP): the two requests differ in time.
    for (const m of [wm, sm]) m.body = m.body.replace(/publishTime="[^"]*"/, 'publishTime="…"');
    assert.deepEqual(sm, wm, 'DASH MPD');
  });
});
