// Endpoint access control (issue 6) on the real runtime: the built Worker in workerd through
// Miniflare, ffmpeg pushing live HLS with Basic auth, Shaka Player on a signed URL and hls.js
// with the authorization code. Each control lets the right requests through and refuses the
// wrong ones with 403, an `x-edgepack-denied` reason and no body; no secret leaks into a denial
// or into workerd's log.
//
// Client addresses are real: the IPv4 origin listens on 127.0.0.1, so workerd reports
// CF-Connecting-IP 127.0.0.1; a second origin listens on ::1, so the Worker sees ::1 and the
// IPv6 CIDR rules are matched against a real IPv6 peer.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startOrigin } from './lib/origin.js';
import { startEncoder, basicAuth, tail } from './lib/encoder.js';
import { startRecordingPlayers, describePlay } from './lib/access-players.js';
import { MIN_ADVANCE_SECONDS } from './lib/players.js';
import { readMaster, readMedia } from './lib/endpoint.js';
import { parseMaster, parseMedia } from './lib/m3u8.js';
import { show } from './lib/api.js';
import { trackedTests } from './lib/run.js';
import { originSuite } from './lib/suite.js';
import { sleep, waitFor } from './lib/wait.js';

const tests = trackedTests();
const { it } = tests;

/** The live push: covers the readiness wait, the IPv6 side run, the checks and both players. */
const PUSH_SECONDS = 80;
/** The IPv6 origin gets a short push encoded as fast as the CPU allows. */
const V6_PUSH_SECONDS = 6;
/** Segments every rendition must list before playback checks start. */
const READY_SEGMENTS = 3;
/** Failed ingest logins per address and minute before 429 (shared/src/ingest/mod.rs). */
const MAX_FAILED_LOGINS = 20;
const DENIED = 'x-edgepack-denied';

const G = 'acc';
const C = 'live';
const EP = (e) => `/api/v1/groups/${G}/channels/${C}/endpoints/${e}`;
const PREFIX = (e) => `/out/v1/${G}/${C}/${e}/`;

const SECRETS = {
  code: 'acc-code-Zq81xT4pLm0',
  cdn: 'cdn-secret-9fQ2mV7wKx3Rb',
  k1: 'signing-secret-one-7Hd2Lq9',
  k2: 'signing-secret-two-3Wx8Pn5',
};
const ALL_CONTROLS_OFF = {
  authorization_code: null,
  ip_allowlist: null,
  ip_blocklist: null,
  cdn_authorization: null,
  signing_keys: null,
  referer_allowlist: null,
};

/** Our own signer for the documented token format (shared/src/access/token.rs). */
function signToken(id, secret, expires, prefix) {
  const mac = createHmac('sha256', secret).update(`edgepack-token-v1\n${expires}\n${prefix}`).digest('hex');
  return `${expires}.${id}.${mac}`;
}

describe('access control on the Worker (workerd), with ffmpeg and real players', { timeout: 300_000 }, () => {
  const suite = originSuite(tests, 'access', {
    players: startRecordingPlayers,
    stop: (ctx) => ctx.v6?.dispose(),
  });
  const { ctx, need } = suite;
  /** Every refused exchange (401/403/429) seen, for the secret-leak check. */
  const refusals = [];

  /** GET (or `method`) with headers; records refusals. */
  async function request(url, { headers = {}, method = 'GET', body } = {}) {
    const res = await fetch(url, { method, headers, body });
    const buf = Buffer.from(await res.arrayBuffer());
    const out = {
      url,
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: buf,
      text: buf.toString('utf8'),
      denied: res.headers.get(DENIED),
    };
    out.describe = () => `${method} ${url} ${JSON.stringify(headers)} -> ${out.status} ${JSON.stringify(out.headers)} ${out.text.slice(0, 200)}`;
    if ([401, 403, 429].includes(out.status)) refusals.push(out);
    return out;
  }

  function assertDenied(res, reason) {
    assert.equal(res.status, 403, res.describe());
    assert.equal(res.denied, reason, res.describe());
    assert.equal(res.body.length, 0, `a denial has no body: ${res.describe()}`);
  }

  function assertAllowed(res) {
    assert.equal(res.status, 200, res.describe());
    assert.equal(res.denied, null, res.describe());
  }

  async function patch(endpoint, settings) {
    const res = await suite.origin.api('PATCH', EP(endpoint), { ...ALL_CONTROLS_OFF, ...settings });
    assert.equal(res.status, 200, show(res));
    return res.json;
  }

  it('sets up a channel, four endpoints and a live ffmpeg push', async (t) => {
    assert.equal((await suite.origin.api('POST', '/api/v1/groups', { name: G })).status, 201);
    const c = await suite.origin.api('POST', `/api/v1/groups/${G}/channels`, { name: C, protocol: 'HLS' });
    assert.equal(c.status, 201, show(c));
    const endpoints = {
      open: {},
      guard: {},
      signed: { signing_keys: [{ id: 'k1', secret: SECRETS.k1 }] },
      coded: { authorization_code: SECRETS.code },
    };
    for (const [name, settings] of Object.entries(endpoints)) {
      const e = await suite.origin.api('POST', `/api/v1/groups/${G}/channels/${C}/endpoints`, { name, ...settings });
      assert.equal(e.status, 201, show(e));
      ctx[`${name}Url`] = e.json.url;
    }
    const input = c.json.inputs[0];
    ctx.input = input;
    ctx.encoder = startEncoder({
      base: input.url,
      seconds: PUSH_SECONDS,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-live.log'),
    });
    t.diagnostic(`origin ${suite.origin.url}; ffmpeg pushing ${PUSH_SECONDS} s to ${input.url}`);
  });

  // --- IPv6, for real: a second origin on ::1 -----------------------------------------------

  it('IPv6 allowlist and blocklist with CIDR blocks match the real peer address ::1', async (t) => {
    need('encoder');
    const v6 = await startOrigin({ host: '::1', dir: join(suite.dir, 'origin-v6') });
    ctx.v6 = v6;
    assert.match(v6.url, /^http:\/\/\[::1\]:\d+$/, `Miniflare listens on ::1: ${v6.url}`);
    assert.equal((await v6.api('POST', '/api/v1/groups', { name: G })).status, 201);
    const c = await v6.api('POST', `/api/v1/groups/${G}/channels`, { name: C });
    assert.equal(c.status, 201, show(c));
    const e = await v6.api('POST', `/api/v1/groups/${G}/channels/${C}/endpoints`, { name: 'v6' });
    assert.equal(e.status, 201, show(e));
    const input = c.json.inputs[0];
    assert.match(input.url, /^http:\/\/\[::1\]:\d+\/in\/v1\//, 'ingest URL on ::1');
    const enc = startEncoder({
      base: input.url,
      seconds: V6_PUSH_SECONDS,
      realtime: false,
      auth: { username: input.username, password: input.password },
      logFile: join(suite.dir, 'ffmpeg-v6.log'),
    });
    await enc.done;
    const master = e.json.url;
    const first = await request(master);
    assert.equal(first.status, 200, `${first.describe()}\nffmpeg: ${tail(enc.log(), 10)}`);
    const rendition = new URL(parseMaster(first.text).variants[0].uri, master).href;
    const seg = new URL(parseMedia((await request(rendition)).text).segments[0].uri, rendition).href;

    const cases = [
      [{ ip_allowlist: ['::1'] }, null],
      [{ ip_allowlist: ['::/120'] }, null],
      [{ ip_allowlist: ['::/127'] }, null],
      [{ ip_allowlist: ['::100/120'] }, 'ip not allowed'],
      [{ ip_allowlist: ['::2/127'] }, 'ip not allowed'],
      [{ ip_allowlist: ['2001:db8::/32'] }, 'ip not allowed'],
      [{ ip_allowlist: ['127.0.0.0/8'] }, 'ip not allowed'],
      [{ ip_allowlist: ['10.0.0.0/8', '::1/128'] }, null],
      [{ ip_blocklist: ['::/64'] }, 'ip blocked'],
      [{ ip_blocklist: ['::1'] }, 'ip blocked'],
      [{ ip_blocklist: ['::2/127'] }, null],
      [{ ip_blocklist: ['127.0.0.1'] }, null],
      [{ ip_allowlist: ['::/96'], ip_blocklist: ['::/112'] }, 'ip blocked'],
    ];
    for (const [settings, reason] of cases) {
      const p = await v6.api('PATCH', `/api/v1/groups/${G}/channels/${C}/endpoints/v6`, { ...ALL_CONTROLS_OFF, ...settings });
      assert.equal(p.status, 200, show(p));
      for (const url of [master, rendition, seg]) {
        const res = await request(url);
        const what = `${JSON.stringify(settings)}: ${res.describe()}`;
        if (reason === null) assert.equal(res.status, 200, what);
        else {
          assert.equal(res.status, 403, what);
          assert.equal(res.denied, reason, what);
        }
      }
    }
    // Miniflare copies the peer address into CF-Connecting-IP only when the client sent none;
    // Cloudflare's edge always overwrites it. Recorded, not asserted: it is Miniflare's choice.
    await v6.api('PATCH', `/api/v1/groups/${G}/channels/${C}/endpoints/v6`, { ...ALL_CONTROLS_OFF, ip_allowlist: ['2001:db8::/32'] });
    const spoof = await request(master, { headers: { 'cf-connecting-ip': '2001:db8::7' } });
    t.diagnostic(`local-only: a client-sent CF-Connecting-IP 2001:db8::7 over ::1 -> ${spoof.status} ${spoof.denied ?? ''} (Miniflare keeps a client's header; Cloudflare replaces it)`);
    t.diagnostic(`${cases.length} IPv6 rule sets x 3 URLs (master, rendition, segment) from peer ::1 at ${v6.url}`);
    ctx.v6Log = v6.logFile;
    await v6.dispose();
    ctx.v6 = null;
  });

  // --- the IPv4 origin, live -----------------------------------------------------------------

  it('the live push reaches every endpoint', async (t) => {
    const encoder = need('encoder');
    const t0 = Date.now();
    ctx.ready = await waitFor(
      `${READY_SEGMENTS} segments in every rendition of ${ctx.openUrl}`,
      async () => {
        const m = await readMaster(ctx.openUrl);
        if (m.renditions.length === 0) return false;
        for (const r of m.renditions) {
          if ((await readMedia(r.url)).playlist.segments.length < READY_SEGMENTS) return false;
        }
        return m;
      },
      { timeoutMs: 30_000 },
    ).catch((err) => assert.fail(`${err.message}\nffmpeg:\n${tail(encoder.log(), 15)}\nworkerd log: ${suite.origin.logFile}`));
    const rendition = ctx.ready.renditions.find((r) => r.kind === 'video');
    const media = await readMedia(rendition.url);
    // Paths below the endpoint prefix: the same on every endpoint of the channel.
    ctx.renditionPath = new URL(rendition.url).pathname.slice(PREFIX('open').length);
    ctx.segmentPath = new URL(media.playlist.segments[0].uri, rendition.url).pathname.slice(PREFIX('open').length);
    t.diagnostic(`ready after ${Date.now() - t0} ms; rendition ${ctx.renditionPath}, segment ${ctx.segmentPath}`);
  });

  /** Master, rendition playlist and segment URLs of endpoint `e` (with `query` appended). */
  function urls(e, query = '') {
    const base = `${suite.origin.url}${PREFIX(e)}`;
    const q = query ? `?${query}` : '';
    return [`${base}manifest.m3u8${q}`, `${base}${need('renditionPath')}${q}`, `${base}${need('segmentPath')}${q}`];
  }

  async function expectAll(e, { headers = {}, query = '' }, reason) {
    for (const url of urls(e, query)) {
      const res = await request(url, { headers });
      if (reason === null) assertAllowed(res);
      else assertDenied(res, reason);
    }
  }

  it('authorization code: the Authorization header or X-TENCENT-PACKAGE, nothing else', async () => {
    need('segmentPath');
    await patch('guard', { authorization_code: SECRETS.code });
    await expectAll('guard', {}, 'authorization code');
    await expectAll('guard', { headers: { authorization: SECRETS.code } }, null);
    await expectAll('guard', { headers: { 'x-tencent-package': SECRETS.code } }, null);
    const wrong = [
      { authorization: `${SECRETS.code}x` },
      { authorization: SECRETS.code.slice(0, -1) },
      { authorization: `Bearer ${SECRETS.code}` },
      { authorization: `Basic ${Buffer.from(`u:${SECRETS.code}`).toString('base64')}` },
      { 'x-tencent-package': SECRETS.code.toUpperCase() },
      { 'x-authorization-code': SECRETS.code },
    ];
    for (const headers of wrong) await expectAll('guard', { headers }, 'authorization code');
    await expectAll('guard', { query: `authorization=${SECRETS.code}` }, 'authorization code');
    // Open endpoints of the same channel are not affected.
    await expectAll('open', {}, null);
  });

  it('IPv4 allowlist and blocklist with CIDR blocks match the real peer address 127.0.0.1', async (t) => {
    need('segmentPath');
    const cases = [
      [{ ip_allowlist: ['127.0.0.0/8'] }, null],
      [{ ip_allowlist: ['127.0.0.1'] }, null],
      [{ ip_allowlist: ['127.0.0.0/31'] }, null],
      [{ ip_allowlist: ['127.0.0.2/31'] }, 'ip not allowed'],
      [{ ip_allowlist: ['128.0.0.0/1'] }, 'ip not allowed'],
      [{ ip_allowlist: ['0.0.0.0/1'] }, null],
      [{ ip_allowlist: ['10.0.0.0/8', '192.168.0.0/16'] }, 'ip not allowed'],
      [{ ip_allowlist: ['::1'] }, 'ip not allowed'],
      [{ ip_blocklist: ['127.0.0.0/24'] }, 'ip blocked'],
      [{ ip_blocklist: ['127.0.1.0/24'] }, null],
      [{ ip_blocklist: ['0.0.0.0/0'] }, 'ip blocked'],
      [{ ip_allowlist: ['127.0.0.0/8'], ip_blocklist: ['127.0.0.1'] }, 'ip blocked'],
    ];
    for (const [settings, reason] of cases) {
      await patch('guard', settings);
      await expectAll('guard', {}, reason);
    }
    // Client-set forwarding headers are not the platform's address.
    await patch('guard', { ip_allowlist: ['203.0.113.0/24'] });
    for (const h of ['x-forwarded-for', 'x-real-ip', 'true-client-ip', 'forwarded']) {
      const v = h === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9';
      await expectAll('guard', { headers: { [h]: v } }, 'ip not allowed');
    }
    const spoof = await request(urls('guard')[0], { headers: { 'cf-connecting-ip': '203.0.113.9' } });
    t.diagnostic(`local-only: client-sent CF-Connecting-IP 203.0.113.9 over 127.0.0.1 -> ${spoof.status} ${spoof.denied ?? ''} (Miniflare keeps it; Cloudflare overwrites it)`);
    // Write-time validation: allow-all and host bits are refused, nothing stored.
    for (const [body, field] of [
      [{ ip_allowlist: ['0.0.0.0/0'] }, 'ip_allowlist'],
      [{ ip_allowlist: ['::/0'] }, 'ip_allowlist'],
      [{ ip_allowlist: ['127.0.0.1/8'] }, 'ip_allowlist'],
      [{ ip_blocklist: ['fe80::1/10'] }, 'ip_blocklist'],
      [{ ip_blocklist: ['127.0.0.1 '] }, 'ip_blocklist'],
    ]) {
      const res = await suite.origin.api('PATCH', EP('guard'), body);
      assert.equal(res.status, 400, show(res));
      assert.equal(res.json?.field, field, show(res));
    }
    await expectAll('guard', { headers: { 'x-forwarded-for': '203.0.113.9' } }, 'ip not allowed');
    t.diagnostic(`${cases.length} IPv4 rule sets x 3 URLs from peer 127.0.0.1`);
  });

  it('an IPv4-mapped IPv6 rule is matched as IPv4 or refused at write time, never stored and ignored', async (t) => {
    need('segmentPath');
    // Client addresses in ::ffff:a.b.c.d form are matched as IPv4 (ip.rs); a rule written in
    // that form must then match the IPv4 client too, or be refused, not be kept and never match.
    for (const field of ['ip_blocklist', 'ip_allowlist']) {
      const res = await suite.origin.api('PATCH', EP('guard'), { ...ALL_CONTROLS_OFF, [field]: ['::ffff:127.0.0.0/104'] });
      if (res.status === 400) {
        t.diagnostic(`${field} ::ffff:127.0.0.0/104 refused at write time: ${res.text}`);
        continue;
      }
      assert.equal(res.status, 200, show(res));
      const got = await request(urls('guard')[0]);
      const expected = field === 'ip_blocklist' ? 403 : 200;
      assert.equal(got.status, expected, `${field} ["::ffff:127.0.0.0/104"] stored, client 127.0.0.1: ${got.describe()}`);
    }
  });

  it('a response opened by a request credential is not offered to shared caches for everyone', async (t) => {
    need('segmentPath');
    // RFC 9111 3.5: `public` lets a shared cache (the CDN in front, PUBLIC_BASE_URL) store a
    // response to a request with Authorization and serve it to any later request for the URL.
    // With the code, Referer or the client address deciding, the response must be `private`
    // or vary on what decided it.
    const checks = [
      [{ authorization_code: SECRETS.code }, { authorization: SECRETS.code }, ['authorization', 'x-tencent-package']],
      [{ authorization_code: SECRETS.code }, { 'x-tencent-package': SECRETS.code }, ['authorization', 'x-tencent-package']],
      [{ referer_allowlist: ['player.example.com'] }, { referer: 'https://player.example.com/' }, ['referer']],
    ];
    const problems = [];
    for (const [settings, headers, varyOn] of checks) {
      await patch('guard', settings);
      for (const url of urls('guard')) {
        const res = await request(url, { headers });
        assertAllowed(res);
        const cc = res.headers['cache-control'] ?? '';
        const vary = (res.headers.vary ?? '').toLowerCase();
        const ok = /\b(private|no-store)\b/.test(cc) || vary === '*' || varyOn.every((h) => vary.includes(h));
        if (!ok) problems.push(`${Object.keys(settings)} ${url}: Cache-Control "${cc}", Vary "${vary}"`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('CDN authorization header', async () => {
    need('segmentPath');
    await patch('guard', { cdn_authorization: { header_name: 'X-Edge-Auth', secret: SECRETS.cdn } });
    await expectAll('guard', {}, 'cdn authorization');
    await expectAll('guard', { headers: { 'x-edge-auth': SECRETS.cdn } }, null);
    await expectAll('guard', { headers: { 'X-EDGE-AUTH': SECRETS.cdn } }, null);
    for (const headers of [
      { 'x-edge-auth': `${SECRETS.cdn}0` },
      { 'x-edge-auth': SECRETS.cdn.slice(1) },
      { 'x-edge-auth': '' },
      { 'x-other-auth': SECRETS.cdn },
      { authorization: SECRETS.cdn },
    ]) {
      await expectAll('guard', { headers }, 'cdn authorization');
    }
  });

  it('Referer allowlist', async () => {
    need('segmentPath');
    await patch('guard', { referer_allowlist: ['player.example.com', '*.example.org'] });
    await expectAll('guard', {}, 'referer not allowed');
    for (const referer of ['https://player.example.com/page', 'http://PLAYER.example.com:8080/x?y', 'https://a.b.example.org/']) {
      await expectAll('guard', { headers: { referer } }, null);
    }
    for (const referer of [
      'https://evil.example/?player.example.com',
      'https://player.example.com.evil.example/',
      'https://player.example.com@evil.example/',
      'https://example.org/',
      'https://badexample.org/',
      'player.example.com',
    ]) {
      await expectAll('guard', { headers: { referer } }, 'referer not allowed');
    }
  });

  it('controls combine with AND; the first failing control is named', async () => {
    need('segmentPath');
    await patch('guard', {
      authorization_code: SECRETS.code,
      cdn_authorization: { header_name: 'X-Edge-Auth', secret: SECRETS.cdn },
      ip_allowlist: ['127.0.0.0/8'],
    });
    const both = { authorization: SECRETS.code, 'x-edge-auth': SECRETS.cdn };
    await expectAll('guard', { headers: both }, null);
    await expectAll('guard', { headers: { authorization: SECRETS.code } }, 'cdn authorization');
    await expectAll('guard', { headers: { 'x-edge-auth': SECRETS.cdn } }, 'authorization code');
    await patch('guard', { authorization_code: SECRETS.code, ip_blocklist: ['127.0.0.1'] });
    await expectAll('guard', { headers: both }, 'ip blocked');
  });

  it('signed URLs: manifests carry the token, forgeries and expired tokens are refused, two keys rotate', async (t) => {
    need('segmentPath');
    const k1 = { id: 'k1', secret: SECRETS.k1 };
    const k2 = { id: 'k2', secret: SECRETS.k2 };
    await patch('guard', { signing_keys: [k1] });
    const s = await suite.origin.api('POST', `${EP('guard')}/signed-url`, { expires_in: 600 });
    assert.equal(s.status, 200, show(s));
    const token = s.json.token;
    assert.equal(s.json.url, `${suite.origin.url}${PREFIX('guard')}manifest.m3u8?token=${token}`, show(s));
    // Our own signer agrees with the origin's: the format is what token.rs documents.
    const expires = Number(token.split('.')[0]);
    assert.equal(signToken('k1', SECRETS.k1, expires, PREFIX('guard')), token);

    // The whole session opens with one token, and every URI the manifests reference carries it.
    const master = await request(s.json.url);
    assertAllowed(master);
    const m = parseMaster(master.text);
    const uris = [...m.variants.map((v) => v.uri), ...m.media.filter((x) => x.URI).map((x) => x.URI)];
    assert.ok(uris.length >= 3, master.text);
    for (const uri of uris) assert.ok(uri.endsWith(`?token=${token}`), `master URI without the token: ${uri}\n${master.text}`);
    const renditionUrl = new URL(uris[0], s.json.url).href;
    const media = await request(renditionUrl);
    assertAllowed(media);
    const segs = parseMedia(media.text).segments;
    assert.ok(segs.length >= READY_SEGMENTS, media.text);
    for (const seg of segs) assert.ok(seg.uri.endsWith(`?token=${token}`), `segment URI without the token: ${seg.uri}`);
    assertAllowed(await request(new URL(segs.at(-1).uri, renditionUrl).href));

    await expectAll('guard', {}, 'token missing');
    const forged = [
      [token.replace(/.$/, (c) => (c === '0' ? '1' : '0')), 'token signature invalid'],
      [token.replace(/^\d+/, String(expires + 86_400)), 'token signature invalid'],
      [token.replace('.k1.', '.k9.'), 'token key unknown'],
      [signToken('k1', 'a-guessed-secret-0000', expires, PREFIX('guard')), 'token signature invalid'],
      [signToken('k1', SECRETS.k1, expires, PREFIX('open')), 'token signature invalid'],
      [signToken('k1', SECRETS.k1, expires, '/out/v1/'), 'token signature invalid'],
      [`${expires}.k1`, 'token malformed'],
      ['garbage', 'token malformed'],
      [`${expires}.k1.${'g'.repeat(64)}`, 'token malformed'],
    ];
    for (const [bad, reason] of forged) await expectAll('guard', { query: `token=${bad}` }, reason);
    // Another endpoint's token does not open this one.
    const other = await suite.origin.api('POST', `${EP('signed')}/signed-url`, {});
    assert.equal(other.status, 200, show(other));
    // (Both endpoints hold a key `k1` with the same secret: the path prefix tells them apart.)
    await expectAll('guard', { query: `token=${other.json.token}` }, 'token signature invalid');

    // Expiry, in real time: a token we sign for now + 2 s works, then stops.
    const now = Math.floor(Date.now() / 1000);
    const short = signToken('k1', SECRETS.k1, now + 2, PREFIX('guard'));
    await expectAll('guard', { query: `token=${short}` }, null);
    await sleep(3_200);
    await expectAll('guard', { query: `token=${short}` }, 'token expired');
    await expectAll('guard', { query: `token=${signToken('k1', SECRETS.k1, now - 3600, PREFIX('guard'))}` }, 'token expired');

    // Rotation: k2 added beside k1, both open; k1 dropped, its tokens stop at once.
    await patch('guard', { signing_keys: [k1, k2] });
    const s2 = await suite.origin.api('POST', `${EP('guard')}/signed-url`, { expires_in: 600, key_id: 'k2' });
    assert.equal(s2.status, 200, show(s2));
    assert.equal(s2.json.key_id, 'k2', show(s2));
    await expectAll('guard', { query: `token=${token}` }, null);
    await expectAll('guard', { query: `token=${s2.json.token}` }, null);
    await patch('guard', { signing_keys: [k2] });
    await expectAll('guard', { query: `token=${token}` }, 'token key unknown');
    await expectAll('guard', { query: `token=${s2.json.token}` }, null);
    // A key id re-used with a new secret invalidates the old tokens of that id.
    await patch('guard', { signing_keys: [{ id: 'k2', secret: `${SECRETS.k2}-new` }] });
    await expectAll('guard', { query: `token=${s2.json.token}` }, 'token signature invalid');
    const bad = await suite.origin.api('PATCH', EP('guard'), { signing_keys: [k1, k2, { id: 'k3', secret: SECRETS.k1 }] });
    assert.equal(bad.status, 400, show(bad));
    t.diagnostic(`token ${token.slice(0, 24)}... on ${uris.length} master URIs and ${segs.length} segment URIs`);
  });

  it('ingest: failed logins from one address are throttled (429) while the encoder keeps pushing', async (t) => {
    const input = need('input');
    need('segmentPath');
    const rendition = `${suite.origin.url}${PREFIX('open')}${ctx.renditionPath}`;
    const lastSeq = async () => parseMedia((await request(rendition)).text).segments.at(-1).sequence;
    // The counter is per calendar minute: do not start the 21 attempts across a boundary.
    if (new Date().getSeconds() >= 55) await sleep((61 - new Date().getSeconds()) * 1000);
    const before = await lastSeq();
    const statuses = [];
    for (let i = 0; i <= MAX_FAILED_LOGINS; i++) {
      const res = await request(`${input.url}stream_0/index.m3u8`, {
        method: 'PUT',
        headers: { authorization: basicAuth(input.username, `${input.password.slice(0, -1)}!`) },
        body: '#EXTM3U\n',
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, MAX_FAILED_LOGINS), Array(MAX_FAILED_LOGINS).fill(401), `${statuses}`);
    const last = refusals.at(-1);
    assert.equal(last.status, 429, last.describe());
    assert.ok(Number(last.headers['retry-after']) > 0, last.describe());
    // The encoder at the same address, with valid credentials, is not locked out.
    const after = await waitFor('a new segment after the throttle', async () => ((await lastSeq()) > before + 1 ? lastSeq() : false), {
      timeoutMs: 12_000,
    });
    t.diagnostic(`statuses ${statuses.join(',')}; encoder's playlist went on from segment ${before} to ${after}`);
  });

  /** A PUT whose connection is dropped after `part` of the body (raw HTTP/1.1). */
  function cutOffPut(url, headers, head, part) {
    const u = new URL(url);
    return new Promise((resolve) => {
      const sock = connect(Number(u.port), u.hostname, () => {
        const lines = Object.entries({ host: u.host, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        sock.write(`PUT ${u.pathname} HTTP/1.1\r\n${lines}\r\n${head}`);
        sock.write(part);
        // Give the origin the partial body, then drop the connection.
        setTimeout(() => {
          sock.destroy();
          resolve();
        }, 300);
      });
      sock.on('error', () => resolve());
    });
  }

  it('ingest: an upload cut off mid-body (declared length or chunked) stores nothing', async (t) => {
    const input = need('input');
    need('segmentPath');
    const auth = basicAuth(input.username, input.password);
    const packets = Buffer.alloc(188 * 20, 0xff);
    for (let i = 0; i < packets.length; i += 188) packets.set([0x47, 0x1f, 0xff, 0x10], i);
    const before = await request(`${suite.origin.url}${PREFIX('open')}${ctx.renditionPath}`);
    await cutOffPut(`${input.url}stream_0/cutoff_a.ts`, { authorization: auth, 'content-length': String(packets.length) }, '', packets.subarray(0, 300));
    await cutOffPut(
      `${input.url}stream_0/cutoff_b.ts`,
      { authorization: auth, 'transfer-encoding': 'chunked' },
      `${packets.length.toString(16)}\r\n`,
      packets.subarray(0, 300),
    );
    await sleep(500);
    const stored = (await suite.origin.r2Keys()).filter((k) => k.includes('cutoff'));
    assert.deepEqual(stored, [], 'a cut-off upload must not be stored');
    // The same files sent whole are stored: the refusal above was about the cut.
    const whole = await request(`${input.url}stream_0/cutoff_a.ts`, { method: 'PUT', headers: { authorization: auth }, body: packets });
    assert.equal(whole.status, 201, whole.describe());
    const after = await request(`${suite.origin.url}${PREFIX('open')}${ctx.renditionPath}`);
    assert.equal(after.status, 200, after.describe());
    assert.ok(parseMedia(after.text).mediaSequence >= parseMedia(before.text).mediaSequence);
    t.diagnostic(`R2 keys with "cutoff" after two dropped uploads: ${stored.length}; after a whole one: ${(await suite.origin.r2Keys()).filter((k) => k.includes('cutoff')).length}`);
  });

  // --- real players on the allowed path --------------------------------------------------------

  it('Shaka Player plays a signed URL; every request it makes carries the token', async (t) => {
    need('segmentPath');
    const s = await suite.origin.api('POST', `${EP('signed')}/signed-url`, { expires_in: 600 });
    assert.equal(s.status, 200, show(s));
    const r = await suite.players.play({ player: 'shaka', url: s.json.url, originPrefix: suite.origin.url, timeoutMs: 25_000 });
    assert.deepEqual(r.fatal, [], describePlay(r));
    assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `advanced ${r.advanced}\n${describePlay(r)}`);
    assert.ok(r.frames > 0, describePlay(r));
    const gets = r.exchanges.filter((x) => x.method !== 'OPTIONS');
    const kinds = { master: 0, media: 0, segment: 0 };
    for (const x of gets) {
      const u = new URL(x.url);
      assert.ok(u.pathname.startsWith(PREFIX('signed')), x.url);
      assert.equal(u.searchParams.get('token'), s.json.token, `request without the token: ${x.url}`);
      // null: still in flight when the page closed.
      assert.ok(x.status === 200 || x.status === null, `${x.method} ${x.url} -> ${x.status}`);
      if (u.pathname.endsWith('/manifest.m3u8')) kinds.master++;
      else if (u.pathname.endsWith('.m3u8')) kinds.media++;
      else if (u.pathname.endsWith('.ts')) kinds.segment++;
    }
    assert.ok(kinds.master >= 1 && kinds.media >= 2 && kinds.segment >= 2, `${JSON.stringify(kinds)}\n${describePlay(r)}`);
    t.diagnostic(`Shaka +${r.advanced.toFixed(2)} s, ${r.frames} frames; ${gets.length} GETs all with the token and 200: ${JSON.stringify(kinds)}`);
  });

  it('hls.js plays with the authorization code set in xhrSetup; without it the origin refuses', async (t) => {
    need('segmentPath');
    const url = need('codedUrl');
    const r = await suite.players.play({ player: 'hls.js', url, headers: { Authorization: SECRETS.code }, originPrefix: suite.origin.url, timeoutMs: 25_000 });
    assert.deepEqual(r.fatal, [], describePlay(r));
    assert.ok(r.advanced >= MIN_ADVANCE_SECONDS, `advanced ${r.advanced}\n${describePlay(r)}`);
    assert.ok(r.frames > 0, describePlay(r));
    const gets = r.exchanges.filter((x) => x.method !== 'OPTIONS');
    for (const x of gets) {
      assert.equal(x.headers.authorization, SECRETS.code, `request without the code: ${x.method} ${x.url}`);
      assert.ok(x.status === 200 || x.status === null, `${x.method} ${x.url} -> ${x.status}`);
    }
    assert.ok(gets.some((x) => x.url.includes('.ts')), describePlay(r));
    t.diagnostic(`hls.js +${r.advanced.toFixed(2)} s, ${r.frames} frames; ${gets.length} GETs with Authorization, all 200`);

    const denied = await suite.players.play({ player: 'hls.js', url, originPrefix: suite.origin.url, timeoutMs: 15_000 });
    assert.ok(denied.fatal.length > 0, `hls.js without the code must fail\n${describePlay(denied)}`);
    assert.ok(denied.exchanges.some((x) => x.status === 403), describePlay(denied));
    assert.equal(denied.frames ?? 0, 0, describePlay(denied));
    t.diagnostic(`without the code: ${denied.fatal.join('; ')}`);
  });

  // --- no secret in a refusal or in the log -----------------------------------------------------

  it('no secret appears in any refusal or in the workerd log', async (t) => {
    const input = need('input');
    need('segmentPath');
    const secrets = { ...SECRETS, ingestPassword: input.password, adminToken: 'e2e-admin-token' };
    // A few more refusals carrying the secrets in the request.
    await patch('guard', { authorization_code: SECRETS.code, cdn_authorization: { header_name: 'X-Edge-Auth', secret: SECRETS.cdn } });
    await request(urls('guard')[0], { headers: { authorization: `${SECRETS.code}-x`, 'x-edge-auth': SECRETS.cdn } });
    await request(urls('guard')[0], { headers: { authorization: SECRETS.code, 'x-edge-auth': `${SECRETS.cdn}-x` } });
    await request(`${input.url}x/index.m3u8`, { method: 'PUT', headers: { authorization: basicAuth(`${input.username}x`, input.password) }, body: '#EXTM3U\n' });
    // API refusals of bad settings must not echo the secret either.
    for (const body of [
      { cdn_authorization: { header_name: 'bad name', secret: SECRETS.cdn } },
      { cdn_authorization: { header_name: 'X-Edge-Auth', secret: `${SECRETS.cdn} with space` } },
      { signing_keys: [{ id: 'bad id!', secret: SECRETS.k1 }] },
      { signing_keys: [{ id: 'k1', secret: SECRETS.k1, extra: 1 }] },
      { authorization_code: `${SECRETS.code}\u00e9` },
    ]) {
      const res = await suite.origin.api('PATCH', EP('guard'), body);
      assert.equal(res.status, 400, show(res));
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!res.text.includes(value), `${name} echoed in ${show(res)}`);
      }
    }
    assert.ok(refusals.length > 100, `refusals recorded: ${refusals.length}`);
    for (const res of refusals) {
      const exposed = JSON.stringify(res.headers) + res.text;
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!exposed.includes(value), `${name} appears in ${res.describe()}`);
      }
    }
    const logs = [suite.origin.logFile, ctx.v6Log].filter(Boolean).map((f) => [f, readFileSync(f, 'utf8')]);
    for (const [file, text] of logs) {
      for (const [name, value] of Object.entries(secrets)) {
        assert.ok(!text.includes(value), `${name} appears in ${file}`);
      }
    }
    const statuses = {};
    for (const r of refusals) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    t.diagnostic(`${refusals.length} refusals (${JSON.stringify(statuses)}) and ${logs.length} workerd logs (${logs.map(([, x]) => x.length).join(', ')} bytes) free of ${Object.keys(secrets).length} secrets`);
  });
});
