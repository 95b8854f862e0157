// Encryption (issue 13) on the real runtime: the built Worker in workerd, ffmpeg pushing live
// HLS, a SPEKE v2.0 key provider (lib/speke-mock.js) on 127.0.0.1, an AES_128 HLS endpoint.
// Every listed segment decrypts with `openssl enc -d -aes-128-cbc` to the clear endpoint's
// segment, which ffprobe decodes; a wrong key does not; hls.js in Chromium plays the
// encrypted endpoint; the key URL answers only requests that pass access control; a provider
// that refuses (422), is down, is slow, answers malformed CPIX or the wrong KIDs gets a 5xx
// naming the cause and no media at all.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startOrigin } from './lib/origin.js';
import { startEncoder, tail } from './lib/encoder.js';
import { startSpekeMock } from './lib/speke-mock.js';
import { assertPlayed, summary } from './lib/players.js';
import { get, readMaster } from './lib/endpoint.js';
import { channelPaths, show } from './lib/api.js';
import { prober } from './lib/probe.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { waitFor } from './lib/wait.js';

const run = promisify(execFile);
const tests = trackedTests();
const { it } = tests;

/** The live push: ready after ~8 s, then the checks, hls.js and the failure cases. */
const PUSH_SECONDS = 160;
/** Segments the encrypted rendition must list before the checks start. */
const READY_SEGMENTS = 3;
/** The origin's key provider timeout (shared/src/content_keys.rs, PROVIDER_TIMEOUT_MS). */
const PROVIDER_TIMEOUT_MS = 4_000;
const KEY_SECRET = 'e2e-key-secret-not-a-real-one';
/** Key period of the rotating endpoints (the smallest `key_rotation_interval` allowed). */
const ROTATION_S = 10;
const CODE = 'enc-code-7Yd3Kq';
const NAMES = { group: 'enc', channel: 'live' };
const P = channelPaths(NAMES);
const OUT = (e) => `/out/v1/${NAMES.group}/${NAMES.channel}/${e}`;
/** A segment starts with a TS sync byte; an error body is JSON. */
const isTs = (buf) => buf.length >= 188 && buf[0] === 0x47 && buf.length % 188 === 0;
/** The `static` endpoint's own key (encryption.static_key): no provider involved. */
const STATIC = {
  key_id: '00112233445566778899aabbccddeeff',
  key: 'f0e1d2c3b4a5968778695a4b3c2d1e0f',
  iv: '0a0b0c0d0e0f10111213141516171819',
  key_url: 'https://keys.example.com/e2e/static.key',
};

/** `openssl enc -d -aes-128-cbc` of `file`; null when openssl refuses (bad padding). */
async function decrypt(file, key, iv, out) {
  try {
    await run('openssl', ['enc', '-d', '-aes-128-cbc', '-K', key.toString('hex'), '-iv', iv.toString('hex'), '-in', file, '-out', out]);
    return out;
  } catch {
    return null;
  }
}

/** The IV of a segment without an IV attribute: its media sequence number (RFC 8216bis 5.2). */
function sequenceIv(seq) {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(seq), 8);
  return iv;
}

/** `[{ seq, uri, key }]` of a media playlist: each segment with the EXT-X-KEY line before it. */
function keyedSegments(text, mediaSequence) {
  let key = null;
  let seq = mediaSequence;
  const out = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXT-X-KEY:')) key = line;
    else if (line && !line.startsWith('#')) out.push({ seq: seq++, uri: line, key });
  }
  return out;
}

describe('encryption: AES-128 HLS with a SPEKE v2.0 key provider on the Worker', { timeout: 210_000 }, () => {
  const providers = {};
  const suite = originSuite(tests, 'encryption', {
    start: async (opts) => {
      for (const mode of ['ok', 'kid-override', '422', 'malformed', 'slow', 'down']) {
        providers[mode] = await startSpekeMock({ mode });
      }
      return startOrigin({ ...opts, bindings: { EDGEPACK_KEY_SECRET: KEY_SECRET } });
    },
    stop: async () => {
      for (const p of Object.values(providers)) await p.close();
    },
  });
  const { ctx, need } = suite;

  it('creates a channel, a clear endpoint and encrypted endpoints, one per provider', async () => {
    const api = suite.origin.api;
    assert.equal((await api('POST', '/api/v1/groups', { name: NAMES.group })).status, 201);
    const c = await api('POST', `${P.group}/channels`, { name: NAMES.channel, protocol: 'HLS' });
    assert.equal(c.status, 201, show(c));
    const endpoint = async (name, encryption, extra = {}) => {
      const e = await api('POST', P.endpoints, { name, protocol: 'HLS', ...extra, ...(encryption && { encryption }) });
      assert.equal(e.status, 201, show(e));
      return e.json;
    };
    await endpoint('clear', null);
    const aes = await endpoint('aes', { method: 'AES_128', key_provider_url: providers.ok.url, content_id: 'e2e-live' });
    assert.deepEqual(aes.encryption, {
      method: 'AES_128', drm_systems: [], key_provider_url: providers.ok.url, content_id: 'e2e-live',
      constant_iv: '', key_rotation_interval: 0,
    });
    await endpoint('locked', { key_provider_url: providers.ok.url, content_id: 'e2e-locked' }, { authorization_code: CODE });
    // A static key: write-only (masked in the answer).
    const st = await endpoint('static', { method: 'AES_128', static_key: STATIC });
    assert.deepEqual(st.encryption.static_key, { ...STATIC, key: '********' });
    for (const mode of ['kid-override', '422', 'malformed', 'slow', 'down']) {
      await endpoint(`p-${mode}`, { key_provider_url: providers[mode].url });
    }
    // http:// only to the local host; https elsewhere.
    const bad = await api('POST', P.endpoints, { name: 'bad', encryption: { key_provider_url: 'http://keys.example.com/' } });
    assert.equal(bad.status, 400, show(bad));
    assert.equal(bad.json?.field, 'encryption.key_provider_url', show(bad));
    // Sample encryption with ClearKey: cbcs on HLS-CMAF, cenc and cbcs on DASH.
    ctx.sample = {};
    for (const [name, protocol, method] of [['cmaf-cbcs', 'HLS_CMAF', 'SAMPLE_AES'], ['dash-cenc', 'DASH', 'CENC'], ['dash-cbcs', 'DASH', 'CBCS']]) {
      ctx.sample[name] = (await api('POST', P.endpoints, {
        name, protocol, encryption: { method, key_provider_url: providers.ok.url, drm_systems: ['CLEAR_KEY'] },
      })).json?.url;
      assert.ok(ctx.sample[name], name);
    }
    // Key rotation of the sample methods: 10 s key periods over 2 s segments.
    for (const [name, protocol, method, extra] of [['cmaf-rot', 'HLS_CMAF', 'SAMPLE_AES', {}], ['dash-rot', 'DASH', 'CENC', {}]]) {
      const r = await api('POST', P.endpoints, {
        name, protocol, ...extra,
        encryption: { method, key_provider_url: providers.ok.url, content_id: `e2e-${name}`, drm_systems: ['CLEAR_KEY'], key_rotation_interval: ROTATION_S },
      });
      assert.equal(r.status, 201, show(r));
      ctx.sample[name] = r.json.url;
    }
    ctx.input = c.json.inputs[0];
    ctx.masterUrl = aes.url;
  });

  it('encrypts every listed segment: openssl decrypts it to the clear segment, which ffprobe decodes', async () => {
    const input = need('input');
    ctx.encoder = startEncoder({ base: input.url, seconds: PUSH_SECONDS, auth: input, logFile: join(suite.dir, 'ffmpeg.log') });
    const { renditions } = await waitFor('the encrypted master', async () => {
      const r = await get(need('masterUrl'));
      return r.status === 200 ? readMaster(ctx.masterUrl) : null;
    }, { timeoutMs: 30_000 }).catch((e) => assert.fail(`${e.message}\n${tail(ctx.encoder.log())}`));
    const video = renditions.find((r) => r.kind === 'video');
    const playlist = await waitFor(`${READY_SEGMENTS} segments`, async () => {
      const r = await get(video.url);
      assert.equal(r.status, 200, r.describe());
      return keyedSegments(r.text, Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(r.text)[1])).length >= READY_SEGMENTS ? r : null;
    }, { timeoutMs: 30_000 });
    const text = playlist.text;
    const seqBase = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)[1]);
    const segments = keyedSegments(text, seqBase);
    assert.ok(segments.every((s) => s.key === segments[0].key), text);
    assert.match(segments[0].key, /^#EXT-X-KEY:METHOD=AES-128,URI="[^"]+\/key\/0\.key"$/, text);
    assert.equal(text.match(/#EXT-X-KEY/g).length, 1, `one key line without rotation:\n${text}`);
    assert.ok(text.indexOf('#EXT-X-KEY') < text.indexOf('#EXTINF'), text);
    // The master names the same key for players to fetch early (RFC 8216bis 4.4.6.5).
    const master = await get(ctx.masterUrl);
    assert.match(master.text, /^#EXT-X-SESSION-KEY:METHOD=AES-128,URI="key\/0\.key"$/m, master.text);

    // The provider saw one valid SPEKE v2.0 request for the endpoint.
    const mock = providers.ok;
    assert.deepEqual(mock.problems, []);
    const req = mock.requests.find((r) => r.asked.contentId === 'e2e-live');
    assert.ok(req, `no request for e2e-live: ${JSON.stringify(mock.requests.map((r) => r.asked.contentId))}`);
    assert.equal(req.headers['x-speke-version'], '2.0');
    assert.match(req.headers['content-type'], /^application\/xml/);
    assert.match(req.xml, /version="2\.3"/);
    assert.equal(req.asked.keys.length, 1);
    assert.equal(req.asked.keys[0].commonEncryptionScheme, 'cbc1');
    assert.deepEqual(req.asked.rules.map((r) => r.intendedTrackType).sort(), ['AUDIO', 'VIDEO']);
    assert.deepEqual(req.asked.systems.map((s) => s.systemId), ['81376844-f976-481e-a84e-cc25d39b0b33']);
    assert.deepEqual(req.asked.periods, [], 'no rotation, no key periods');
    const key = mock.keyFor(req.asked.keys[0].kid);

    // The key URL: the provider's key, for this client only.
    const keyUrl = new URL(/URI="([^"]+)"/.exec(segments[0].key)[1], video.url).href;
    const k = await get(keyUrl);
    assert.equal(k.status, 200, k.describe());
    assert.deepEqual(k.body, key, 'the key URL serves the provider key');
    assert.equal(k.headers.get('cache-control'), 'private, no-store');
    ctx.keyUrl = keyUrl;

    const probe = prober(suite.dir);
    const clearUrl = video.url.replace(`${OUT('aes')}/`, `${OUT('clear')}/`);
    for (const s of segments) {
      const enc = await get(new URL(s.uri, video.url).href);
      const clear = await get(new URL(s.uri, clearUrl).href);
      assert.equal(enc.status, 200, enc.describe());
      assert.equal(clear.status, 200, clear.describe());
      assert.ok(!isTs(enc.body), `segment ${s.seq} is not served in the clear`);
      assert.equal(enc.body.length, (Math.floor(clear.body.length / 16) + 1) * 16, 'PKCS#7 padding');
      const file = join(suite.dir, `enc-${s.seq}.bin`);
      await writeFile(file, enc.body);
      const out = await decrypt(file, key, sequenceIv(s.seq), join(suite.dir, `dec-${s.seq}.ts`));
      assert.ok(out, `openssl could not decrypt segment ${s.seq}`);
      const { readFile } = await import('node:fs/promises');
      const decrypted = await readFile(out);
      assert.ok(decrypted.equals(clear.body), `segment ${s.seq} decrypts to the clear segment`);
      const p = await probe.ts(decrypted, `decrypted ${s.seq}`);
      assert.equal(p.errors, '', `ffprobe on decrypted segment ${s.seq} (${p.file}): ${p.errors}`);
      const v = p.streams.find((st) => st.codec_type === 'video');
      assert.ok(Number(v?.nb_read_frames) > 0, `decoded video frames in ${p.file}`);
      // A wrong key gives no clear segment (openssl refuses the padding or yields noise).
      const wrong = Buffer.from(key);
      wrong[0] ^= 0x01;
      const bad = await decrypt(file, wrong, sequenceIv(s.seq), join(suite.dir, `bad-${s.seq}.ts`));
      if (bad) {
        const noise = await readFile(bad);
        assert.ok(!noise.equals(clear.body), 'a wrong key does not decrypt');
        const pb = await probe.ts(noise, `wrong key ${s.seq}`);
        const frames = Number(pb.streams.find((st) => st.codec_type === 'video')?.nb_read_frames ?? 0);
        assert.ok(pb.errors !== '' || frames === 0, `a wrong key decoded ${frames} frames: ${pb.file}`);
      }
    }
  });

  it('a static key: its key server in EXT-X-KEY, segments decrypt with it, no provider call', async () => {
    const masterUrl = need('masterUrl');
    const { renditions } = await readMaster(masterUrl);
    const mediaUrl = renditions.find((x) => x.kind === 'video').url.replace(`${OUT('aes')}/`, `${OUT('static')}/`);
    const r = await get(mediaUrl);
    assert.equal(r.status, 200, r.describe());
    const [s] = keyedSegments(r.text, Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(r.text)[1]));
    assert.equal(s.key, `#EXT-X-KEY:METHOD=AES-128,URI="${STATIC.key_url}",IV=0x${STATIC.iv}`, r.text);
    const enc = await get(new URL(s.uri, mediaUrl).href);
    const clear = await get(new URL(s.uri, mediaUrl.replace(`${OUT('static')}/`, `${OUT('clear')}/`)).href);
    assert.equal(enc.status, 200, enc.describe());
    const file = join(suite.dir, `static-${s.seq}.bin`);
    await writeFile(file, enc.body);
    const out = await decrypt(file, Buffer.from(STATIC.key, 'hex'), Buffer.from(STATIC.iv, 'hex'), join(suite.dir, `static-${s.seq}.ts`));
    const { readFile } = await import('node:fs/promises');
    assert.ok(out && (await readFile(out)).equals(clear.body), 'the static key decrypts the segment');
    assert.equal((await get(`${suite.origin.url}${OUT('static')}/key/0.key`)).status, 404, 'the origin never serves a static key');
  });

  it('hls.js in Chromium plays the encrypted endpoint, decoded frames growing', async () => {
    const masterUrl = need('masterUrl');
    need('keyUrl');
    const frames = [];
    const r = await suite.players.play({ player: 'hls.js', url: masterUrl, timeoutMs: 30_000, sample: (s) => frames.push(s.frames) });
    assertPlayed(r);
    assert.ok(frames.at(-1) > frames.find((f) => f > 0), `decoded frames grow: ${frames.join(',')}\n${summary(r)}`);
    assert.ok(r.requests.some((q) => q.includes('/key/0.key')), `hls.js fetched the key\n${summary(r)}`);
  });

  it('the key URL answers only requests that pass the endpoint access control', async () => {
    need('keyUrl');
    const url = `${suite.origin.url}${OUT('locked')}/key/0.key`;
    const refused = await get(url);
    assert.equal(refused.status, 403, refused.describe());
    assert.equal(refused.body.length, 0, 'a refusal carries no key');
    const wrongCode = await get(url, { authorization: 'not-the-code' });
    assert.equal(wrongCode.status, 403, wrongCode.describe());
    const ok = await get(url, { authorization: CODE });
    assert.equal(ok.status, 200, ok.describe());
    assert.equal(ok.body.length, 16);
    const req = providers.ok.requests.find((q) => q.asked.contentId === 'e2e-locked');
    assert.deepEqual(ok.body, providers.ok.keyFor(req.asked.keys[0].kid));
  });

  it('a provider overriding the KID: the overriding key is used', async () => {
    const masterUrl = need('masterUrl');
    const rendition = new URL(masterUrl).pathname.replace(`${OUT('aes')}/`, '');
    const { renditions } = await readMaster(masterUrl);
    const mediaPath = new URL(renditions.find((x) => x.kind === 'video').url).pathname.replace(`${OUT('aes')}/`, '');
    assert.ok(rendition);
    const r = await get(`${suite.origin.url}${OUT('p-kid-override')}/${mediaPath}`);
    assert.equal(r.status, 200, r.describe());
    const k = await get(`${suite.origin.url}${OUT('p-kid-override')}/key/0.key`);
    assert.equal(k.status, 200, k.describe());
    const asked = providers['kid-override'].requests[0].asked.keys[0].kid;
    const mock = providers['kid-override'];
    assert.deepEqual(k.body, mock.keyFor(mock.overrideOf(asked)));
    ctx.mediaPath = mediaPath;
  });

  for (const [mode, status, cause] of [
    ['422', 502, /HTTP 422: Missing CPIX@contentId/],
    ['down', 502, /key provider unreachable/],
    ['malformed', 502, /malformed CPIX answer/],
    ['slow', 504, /did not answer within 4000 ms/],
  ]) {
    it(`a provider that is ${mode === '422' ? 'refusing (422)' : mode}: ${status} naming the cause, never a segment`, async () => {
      const mediaPath = need('mediaPath');
      const base = `${suite.origin.url}${OUT(`p-${mode}`)}`;
      const clear = await get(`${suite.origin.url}${OUT('clear')}/${mediaPath}`);
      const seq = /^(?:~[A-Za-z0-9]+\/)?(\d+)\.ts$/m.exec(clear.text)[1];
      const segmentPath = mediaPath.replace(/[^/]+$/, `${seq}.ts`);
      const asked = providers[mode].requests.length;
      for (const path of [mediaPath, segmentPath, 'key/0.key']) {
        const t0 = Date.now();
        const r = await get(`${base}/${path}`);
        assert.equal(r.status, status, r.describe());
        assert.ok(!isTs(r.body), `no media from ${path}`);
        assert.match(r.headers.get('content-type') ?? '', /application\/json/, r.describe());
        assert.match(r.text, cause, r.describe());
        assert.ok(!r.text.includes(KEY_SECRET), 'no secret in the error');
        assert.equal(r.headers.get('cache-control'), 'no-store');
        if (mode === 'slow') assert.ok(Date.now() - t0 < PROVIDER_TIMEOUT_MS + 3_000, `bounded wait: ${Date.now() - t0} ms`);
      }
      // A refusal is final and remembered for a few seconds: one call for the three requests.
      if (mode === '422' || mode === 'malformed') {
        assert.equal(providers[mode].requests.length - asked, 1, 'asked once, not per request');
      }
    });
  }

  it('keeps keys sealed in R2 and out of the logs', async () => {
    const keys = await suite.origin.r2Keys('drm/');
    assert.ok(keys.length >= 3, `one sealed record per endpoint and period: ${keys.join(', ')}`);
    const req = providers.ok.requests.find((q) => q.asked.contentId === 'e2e-live');
    const key = providers.ok.keyFor(req.asked.keys[0].kid);
    for (const k of keys) {
      const obj = await suite.origin.bucket.get(k);
      const body = Buffer.from(await obj.arrayBuffer());
      assert.equal(body.indexOf(key), -1, `${k} holds the key in the clear`);
      assert.equal(body.indexOf(Buffer.from(key.toString('base64'))), -1, `${k} holds the key in base64`);
    }
    const { readFileSync } = await import('node:fs');
    const log = readFileSync(suite.origin.logFile, 'utf8');
    for (const s of [key.toString('hex'), key.toString('base64'), KEY_SECRET]) {
      assert.ok(!log.includes(s), 'no key or secret in the workerd log');
    }
  });

  /** The ClearKey keys of an encrypted manifest: KID (hex) to key (hex), from its signalling. */
  async function clearKeys(url) {
    const kids = new Set();
    const text = (await get(url)).text;
    if (url.endsWith('.mpd')) {
      for (const m of text.matchAll(/cenc:default_KID="([0-9a-f-]{36})"/g)) kids.add(m[1].replace(/-/g, ''));
    } else {
      // Every playlist of the master: variants and EXT-X-MEDIA (the audio group).
      const uris = text.split('\n').flatMap((l) => (l.startsWith('#') ? [...l.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]) : l ? [l] : []));
      for (const uri of uris) {
        const playlist = await get(new URL(uri, url).toString());
        assert.equal(playlist.status, 200, playlist.describe());
        for (const m of playlist.text.matchAll(/KEYID=0x([0-9a-f]{32})/g)) kids.add(m[1]);
      }
    }
    assert.ok(kids.size >= 2, `a video and an audio KID in ${url}:\n${text}`);
    const uuid = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    return Object.fromEntries([...kids].map((k) => [k, Buffer.from(providers.ok.keyFor(uuid(k))).toString('hex')]));
  }

  const b64url = (hex) => Buffer.from(hex, 'hex').toString('base64url');
  for (const [name, player] of [['cmaf-cbcs', 'shaka'], ['dash-cenc', 'shaka'], ['dash-cbcs', 'shaka'], ['dash-cenc', 'dash.js']]) {
    it(`${player} plays the ${name} endpoint with ClearKey in Chromium, decoded frames growing`, async () => {
      const url = need('sample')[name];
      need('keyUrl');
      const keys = await clearKeys(url);
      const playerConfig = player === 'shaka'
        ? { drm: { clearKeys: keys } }
        : { protectionData: { 'org.w3.clearkey': { clearkeys: Object.fromEntries(Object.entries(keys).map(([k, v]) => [b64url(k), b64url(v)])) } } };
      const frames = [];
      const r = await suite.players.play({ player, url, playerConfig, timeoutMs: 30_000, sample: (st) => frames.push(st.frames) });
      assertPlayed(r);
      assert.ok(frames.at(-1) > frames.find((f) => f > 0), `decoded frames grow: ${frames.join(',')}\n${summary(r)}`);
    });
  }

  for (const name of ['cmaf-rot', 'dash-rot']) {
    it(`shaka plays the ${name} endpoint across a key period boundary, frames growing past it`, async () => {
      const url = need('sample')[name];
      need('keyUrl');
      const base = url.replace(/\/[^/]+$/, '');
      const contentId = `e2e-${name}`;
      // The keys of the periods around now, through the endpoint's ClearKey key route: each
      // period is one SPEKE request with ContentKeyPeriod@index (its KIDs name the keys). Back
      // as far as the live window reaches (the hold-back, a segment and the 10 s start
      // allowance: 31 s), since Shaka wants the key of every period its playlist names.
      const now = Math.floor(Date.now() / 1000 / ROTATION_S);
      const before = providers.ok.requests.length;
      for (let p = now - 5; p <= now + 6; p++) {
        for (const kind of ['video', 'audio']) {
          const k = await get(`${base}/key/${p}-${kind}.key`);
          assert.equal(k.status, 200, k.describe());
        }
      }
      const asked = providers.ok.requests.filter((q) => q.asked.contentId === contentId);
      // Periods the playlists had not asked for yet: one request each, in order.
      const indexes = providers.ok.requests.slice(before).filter((q) => q.asked.contentId === contentId).map((q) => Number(q.asked.periods[0]?.index));
      assert.ok(indexes.length >= 6 && indexes.every((x, i) => i === 0 || x > indexes[i - 1]), `one request per period, increasing @index: ${indexes}`);
      const uuid = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      const keys = Object.fromEntries(asked.flatMap((q) => q.asked.keys.map((k) => [k.kid.replace(/-/g, ''), Buffer.from(providers.ok.keyFor(uuid(k.kid.replace(/-/g, '')))).toString('hex')])));
      // Played on past ROTATION_S seconds of continuous content, which always hold a period
      // boundary (periods are ROTATION_S long), and frames keep growing after it. ABR off: a
      // variant switch in flight can hit a Shaka 5.2 TypeError (streaming_engine reads
      // `currentVariant_.bandwidth` before it is set), which is about ABR, not keys.
      const samples = [];
      const r = await suite.players.play({
        player: 'shaka', url, playerConfig: { drm: { clearKeys: keys }, abr: { enabled: false } }, minAdvance: ROTATION_S + 3, timeoutMs: 45_000,
        sample: (st) => st.startCurrentTime !== null && samples.push({ frames: st.frames, advanced: st.currentTime - st.startCurrentTime }),
      });
      assertPlayed(r);
      assert.equal(r.corruptedFrames ?? 0, 0, `no corrupted frames\n${summary(r)}`);
      const after = samples.filter((x) => x.advanced > ROTATION_S);
      assert.ok(after.length > 1 && after.at(-1).frames > after[0].frames, `frames grow past the boundary: ${JSON.stringify(samples)}\n${summary(r)}`);
    });
  }

  it('with a wrong ClearKey key Shaka decodes nothing (or errors)', async () => {
    const url = need('sample')['dash-cenc'];
    const keys = await clearKeys(url);
    const wrong = Object.fromEntries(Object.keys(keys).map((k) => [k, '00'.repeat(16)]));
    const r = await suite.players.play({ player: 'shaka', url, playerConfig: { drm: { clearKeys: wrong } }, timeoutMs: 12_000, minAdvance: 4 });
    assert.ok(r.fatal.length > 0 || r.frames === 0 || r.advanced < 1, `a wrong key played: ${summary(r)}`);
  });
});
