// Encryption on the Spin build: the component's outbound HTTP (spin-sdk's wasi:http client) to
// a SPEKE v2.0 key provider (../lib/speke-mock.js) through the local host, which allows only
// the hosts spin.toml lists. Two real ffmpeg TS segments are PUT to an HLS channel; the
// AES_128 endpoint's segments decrypt with openssl to the clear endpoint's bytes; a provider
// not in `allowed_outbound_hosts` is refused by the host and the endpoint answers 502, never
// media.
import { describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSpinOrigin, SPIN_MANIFEST, SPIN_WASM } from '../lib/spin-host.js';
import { startSpekeMock } from '../lib/speke-mock.js';
import { basicAuth } from '../lib/encoder.js';
import { get } from '../lib/endpoint.js';
import { channelPaths, show } from '../lib/api.js';
import { REPO_DIR, tempDir } from '../lib/paths.js';
import { trackedTests } from '../lib/run.js';

const run = promisify(execFile);
const tests = trackedTests();
const { it } = tests;
const KEY_SECRET = 'spin-e2e-key-secret';
const NAMES = { group: 'enc', channel: 'live' };
const P = channelPaths(NAMES);
const OUT = (e) => `/out/v1/${NAMES.group}/${NAMES.channel}/${e}`;
const FIXTURES = join(REPO_DIR, 'shared', 'tests', 'fixtures', 'media');

describe('encryption on the Spin component: outbound HTTP to a SPEKE v2.0 provider', { timeout: 60_000 }, () => {
  const s = {};

  tests.before(async () => {
    s.dir = await tempDir('spin-encryption');
    s.mock = await startSpekeMock();
    // spin.toml with the provider allowed (and the component by absolute path).
    const manifest = readFileSync(SPIN_MANIFEST, 'utf8')
      .replace(/^allowed_outbound_hosts = \[(.*)\]$/m, `allowed_outbound_hosts = [$1, "${new URL(s.mock.url).origin}"]`)
      .replace(/^source = ".*"$/m, `source = "${SPIN_WASM}"`);
    assert.match(manifest, /allowed_outbound_hosts = \["\{\{ otlp_endpoint \}\}", "http:\/\/127\.0\.0\.1:\d+"\]/);
    s.manifest = join(s.dir, 'spin.toml');
    writeFileSync(s.manifest, manifest);
    s.origin = await startSpinOrigin({
      dir: join(s.dir, 'spin'),
      manifest: s.manifest,
      env: { SPIN_VARIABLE_EDGEPACK_KEY_SECRET: KEY_SECRET },
    });
  });

  after(async () => {
    await s.origin?.dispose();
    await s.mock?.close();
    await tests.cleanup(s.dir);
  });

  it('encrypts segments with the provider key, and refuses a provider Spin does not allow', async () => {
    const api = s.origin.api;
    assert.equal((await api('POST', '/api/v1/groups', { name: NAMES.group })).status, 201);
    const c = await api('POST', `${P.group}/channels`, { name: NAMES.channel, protocol: 'HLS' });
    assert.equal(c.status, 201, show(c));
    for (const [name, encryption] of [
      ['clear', undefined],
      ['aes', { key_provider_url: s.mock.url, content_id: 'spin-live' }],
      // Same host, another port: not in allowed_outbound_hosts.
      ['denied', { key_provider_url: 'http://127.0.0.1:9/speke' }],
    ]) {
      const e = await api('POST', P.endpoints, { name, ...(encryption && { encryption }) });
      assert.equal(e.status, 201, show(e));
    }
    const input = c.json.inputs[0];
    const auth = { authorization: basicAuth(input.username, input.password) };
    let playlist = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n';
    for (const i of [0, 1]) {
      const seg = await fetch(`${input.url}v/seg${i}.ts`, { method: 'PUT', headers: auth, body: readFileSync(join(FIXTURES, `h264_aac_${i}.ts`)) });
      assert.equal(seg.status, 201, await seg.text());
      playlist += `#EXTINF:2.000000,\nseg${i}.ts\n`;
      const pl = await fetch(`${input.url}v/index.m3u8`, { method: 'PUT', headers: auth, body: playlist });
      assert.ok([200, 201].includes(pl.status), await pl.text());
    }

    const media = await get(`${s.origin.url}${OUT('aes')}/v/index/media.m3u8`);
    assert.equal(media.status, 200, media.describe());
    assert.match(media.text, /#EXT-X-KEY:METHOD=AES-128,URI="\.\.\/\.\.\/key\/0\.key"\n/, media.text);
    assert.deepEqual(s.mock.problems, []);
    const req = s.mock.requests.find((r) => r.asked.contentId === 'spin-live');
    assert.ok(req, 'the component reached the provider');
    assert.equal(req.headers['x-speke-version'], '2.0');
    const key = s.mock.keyFor(req.asked.keys[0].kid);
    const k = await get(`${s.origin.url}${OUT('aes')}/key/0.key`);
    assert.equal(k.status, 200, k.describe());
    assert.deepEqual(k.body, key);
    assert.equal(k.headers.get('cache-control'), 'private, no-store');

    for (const seq of [0, 1]) {
      const enc = await get(`${s.origin.url}${OUT('aes')}/v/index/${seq}.ts`);
      const clear = await get(`${s.origin.url}${OUT('clear')}/v/index/${seq}.ts`);
      assert.equal(enc.status, 200, enc.describe());
      assert.equal(clear.status, 200, clear.describe());
      const file = join(s.dir, `enc-${seq}.bin`);
      writeFileSync(file, enc.body);
      const iv = Buffer.alloc(16);
      iv.writeUInt32BE(seq, 12);
      await run('openssl', ['enc', '-d', '-aes-128-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-in', file, '-out', `${file}.ts`]);
      assert.ok((await readFile(`${file}.ts`)).equals(clear.body), `segment ${seq} decrypts to the clear segment`);
    }

    for (const path of ['v/index/media.m3u8', 'v/index/0.ts', 'key/0.key']) {
      const r = await get(`${s.origin.url}${OUT('denied')}/${path}`);
      assert.equal(r.status, 502, r.describe());
      assert.match(r.text, /key provider unreachable/, r.describe());
      assert.notEqual(r.body[0], 0x47, 'no media');
    }
    assert.match(readFileSync(s.origin.logFile, 'utf8'), /denied \(not in allowed_outbound_hosts\)/);
  });
});
