// The Worker's edge cache (Cloudflare's Cache API, which Miniflare runs locally) on an endpoint
// with an authorization code: the second GET of a segment is answered from the cache with no R2
// read, and the code is still checked on every request (docs/storage.md, "Edge cache").
//
// No R2 read is shown by emptying the bucket once the copy is kept: the cached segment is still
// served, byte for byte, while a segment that was not cached can no longer be. No encoder: two
// recorded ffmpeg segments (shared/tests/fixtures/media) are PUT with their playlists, so the
// suite takes a few seconds.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOrigin } from './lib/origin.js';
import { basicAuth } from './lib/encoder.js';
import { show } from './lib/api.js';
import { REPO_DIR } from './lib/paths.js';
import { trackedTests } from './lib/run.js';
import { waitFor } from './lib/wait.js';

const { it, cleanup } = trackedTests();

const CODE = 'edge-code-4Rt9sQ2w';
const FIXTURES = join(REPO_DIR, 'shared', 'tests', 'fixtures', 'media');

describe('edge cache on workerd', () => {
  let origin;
  let segments;
  const base = () => `${origin.url}/out/v1/ec/live/hls/v/index/`;

  before(async () => {
    origin = await startOrigin();
    const ok = (res, status) => assert.equal(res.status, status, show(res));
    ok(await origin.api('POST', '/api/v1/groups', { name: 'ec' }), 201);
    const channel = await origin.api('POST', '/api/v1/groups/ec/channels', { name: 'live', protocol: 'HLS' });
    ok(channel, 201);
    ok(await origin.api('POST', '/api/v1/groups/ec/channels/live/endpoints', {
      name: 'hls', protocol: 'HLS', authorization_code: CODE,
    }), 201);
    const { username, password } = channel.json.inputs[0];
    const put = async (path, body) => {
      const res = await fetch(`${origin.url}/in/v1/ec/live/1/${path}`, {
        method: 'PUT', body, headers: { authorization: basicAuth(username, password) },
      });
      await res.arrayBuffer();
      assert.equal(res.status, 201, `PUT ${path}`);
    };
    for (const [i, name] of ['h264_aac_0.ts', 'h264_aac_1.ts'].entries()) {
      await put(`v/seg${i}.ts`, readFileSync(join(FIXTURES, name)));
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0'];
      for (let n = 0; n <= i; n++) lines.push('#EXTINF:2.000000,', `seg${n}.ts`);
      await put('v/index.m3u8', `${lines.join('\n')}\n`);
    }
    const playlist = await fetch(`${base()}media.m3u8`, { headers: { authorization: CODE } });
    assert.equal(playlist.status, 200);
    segments = (await playlist.text()).split('\n').filter((l) => l.endsWith('.ts'));
    assert.equal(segments.length, 2, 'both segments listed');
  });

  after(async () => {
    await origin?.dispose();
    await cleanup(origin?.dir);
  });

  it('a second GET of a segment reads nothing from R2 and still needs the code', async (t) => {
    const url = base() + segments[0];
    const get = (headers = { authorization: CODE }) => fetch(url, { headers });
    const first = await get();
    assert.equal(first.status, 200);
    const firstBytes = Buffer.from(await first.arrayBuffer());
    assert.equal(first.headers.get('x-edgepack-cache'), 'MISS');
    assert.equal(first.headers.get('x-edgepack-edge-cache'), null, 'the hints stay inside the Worker');
    assert.equal(first.headers.get('x-edgepack-edge-key'), null);
    // The copy is stored after the answer is sent (waitUntil).
    await waitFor('a cached copy', async () => {
      const r = await get();
      await r.arrayBuffer();
      return r.headers.get('x-edgepack-cache') === 'HIT';
    }, { timeoutMs: 10_000, intervalMs: 200 });

    // Empty the bucket: whatever is served now was read from no R2 object.
    const keys = await origin.r2Keys();
    // Timelines are in R2 only in the R2 layout; in the Durable Object layout they stay in the
    // channel's object (docs/storage.md), and a segment's GET reads no R2 object either way.
    const stateInR2 = origin.channelState === 'r2';
    assert.ok(keys.some((k) => k.startsWith('seg/')) && keys.some((k) => k.startsWith('idx/')) === stateInR2, keys.join(' '));
    await origin.bucket.delete(keys);
    assert.deepEqual(await origin.r2Keys(), []);

    const second = await get();
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-edgepack-cache'), 'HIT');
    const secondBytes = Buffer.from(await second.arrayBuffer());
    assert.ok(secondBytes.equals(firstBytes), 'the same bytes');
    assert.equal(second.headers.get('cache-control'), first.headers.get('cache-control'));
    assert.equal(second.headers.get('x-edgepack-cache-control'), null);
    // A HEAD of the copy: its length, and no body (the Worker holds a copy's body outside its
    // WebAssembly memory and lets go of one no answer takes).
    const head = await fetch(url, { method: 'HEAD', headers: { authorization: CODE } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('x-edgepack-cache'), 'HIT');
    assert.equal(head.headers.get('content-length'), String(firstBytes.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);

    // Access control still runs before the cache is asked.
    for (const headers of [{}, { authorization: 'wrong-code-00000' }]) {
      const refused = await get(headers);
      assert.equal(refused.status, 403);
      assert.equal(refused.headers.get('x-edgepack-denied'), 'authorization code');
      assert.equal((await refused.arrayBuffer()).byteLength, 0);
    }
    // A segment never cached needs R2, which is empty now.
    const uncached = await fetch(base() + segments[1], { headers: { authorization: CODE } });
    await uncached.arrayBuffer();
    assert.notEqual(uncached.status, 200);
    t.diagnostic(`${segments[0]}: MISS, then HIT with ${keys.length} R2 objects deleted (${secondBytes.length} bytes); ${segments[1]}: ${uncached.status}`);
  });
});
