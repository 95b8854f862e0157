// A SPEKE v2.0 key provider for the end-to-end suites: a Node HTTP server on 127.0.0.1 (random
// port) that checks each CPIX 2.3 request the way a provider following AWS's SPEKE v2
// documentation would (headers, CPIX version, contentId, one commonEncryptionScheme, usage
// rules per track type, key periods, DRM systems per key) and answers with PlainValue keys,
// PSSH boxes, ContentProtectionData and HLSSignalingData. Its own regular-expression reader:
// independent of the origin's quick-xml parser.
//
// Keys are deterministic: HMAC-SHA256(seed, KID as 32 hex digits), first 16 bytes, so a test
// knows the key of any KID (`keyFor`).
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';

export const SYSTEMS = {
  widevine: 'edef8ba9-79d6-4ace-a3c8-27dcd51d21ed',
  playready: '9a04f079-9840-4286-ab92-e65be0885f95',
  fairplay: '94ce86fb-07ff-4f43-adb8-93d2fa968ca2',
  clearkey: '1077efec-c0b2-4d02-ace3-3c1e52e2fb4b',
  aes128: '81376844-f976-481e-a84e-cc25d39b0b33',
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCHEMES = ['cenc', 'cbc1', 'cens', 'cbcs'];
/** What `slow` waits before answering: longer than the origin's 4 s provider timeout. */
const SLOW_MS = 8_000;
/** Largest request body read. */
const MAX_REQUEST = 1 << 20;

/** Every `<cpix:NAME attrs>` (or self-closing) element's attributes, in document order. */
function elements(xml, name) {
  const re = new RegExp(`<cpix:${name}((?:\\s+[A-Za-z:]+="[^"]*")*)\\s*/?>`, 'g');
  const out = [];
  for (const m of xml.matchAll(re)) {
    const attrs = {};
    for (const a of m[1].matchAll(/([A-Za-z:]+)="([^"]*)"/g)) attrs[a[1]] = a[2];
    out.push(attrs);
  }
  return out;
}

/** The body of each `<cpix:NAME ...>...</cpix:NAME>` element with the given kid. */
function blocks(xml, name) {
  return [...xml.matchAll(new RegExp(`<cpix:${name}\\b[^>]*?(?<!/)>([\\s\\S]*?)</cpix:${name}>`, 'g'))].map((m) => ({
    open: m[0].slice(0, m[0].indexOf('>') + 1),
    body: m[1],
  }));
}

const hex = (uuid) => uuid.replaceAll('-', '').toLowerCase();
const uuidOf = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
const b64 = (buf) => Buffer.from(buf).toString('base64');

/** A version 1 `pssh` box of `systemId` naming `kids`, with `data`. */
export function psshBox(systemId, kids, data = Buffer.alloc(0)) {
  const body = Buffer.concat([
    Buffer.from([1, 0, 0, 0]),
    Buffer.from(hex(systemId), 'hex'),
    Buffer.from(Uint32Array.of(0).buffer), // placeholder, replaced below
  ]);
  body.writeUInt32BE(kids.length, 20);
  const size = 8 + body.length + 16 * kids.length + 4 + data.length;
  const head = Buffer.alloc(8);
  head.writeUInt32BE(size, 0);
  head.write('pssh', 4, 'ascii');
  const dataSize = Buffer.alloc(4);
  dataSize.writeUInt32BE(data.length, 0);
  return Buffer.concat([head, body, ...kids.map((k) => Buffer.from(hex(k), 'hex')), dataSize, data]);
}

/**
 * Checks a request as a SPEKE v2.0 provider would; returns the first problem as AWS's fixed
 * 422 sentence (or null) and what the request asked for.
 */
export function checkRequest(headers, xml) {
  const root = elements(xml, 'CPIX')[0];
  const keys = elements(xml, 'ContentKey');
  const systems = elements(xml, 'DRMSystem');
  const periods = elements(xml, 'ContentKeyPeriod');
  const rules = elements(xml, 'ContentKeyUsageRule');
  const filters = elements(xml, 'KeyPeriodFilter');
  const asked = { contentId: root?.contentId, keys, systems, periods, rules };
  const fail = (message) => ({ problem: message, asked });
  if (headers['x-speke-version'] !== '2.0') return fail('Unsupported SPEKE version');
  if (!/^application\/xml\b/.test(headers['content-type'] ?? '')) return fail('Unsupported Content-Type');
  if (!root) return fail('Missing CPIX root element');
  if (!root.contentId) return fail('Missing CPIX@contentId');
  if (!root.version) return fail('Missing CPIX@version');
  if (root.version !== '2.3') return fail('Unsupported CPIX@version');
  if (keys.length === 0) return fail('Missing ContentKeyList');
  for (const k of keys) {
    if (!UUID.test(k.kid ?? '')) return fail(`Invalid ContentKey@kid ${k.kid}`);
    if (!k.commonEncryptionScheme) return fail(`Missing ContentKey@commonEncryptionScheme for KID ${k.kid}`);
    if (!SCHEMES.includes(k.commonEncryptionScheme)) return fail('Unsupported ContentKey@commonEncryptionScheme');
  }
  if (new Set(keys.map((k) => k.commonEncryptionScheme)).size > 1) {
    return fail('Non compliant ContentKey@commonEncryptionScheme combination');
  }
  const kids = new Set(keys.map((k) => k.kid));
  if (systems.length === 0) return fail('Missing DRMSystemList');
  for (const s of systems) {
    if (!kids.has(s.kid)) return fail(`DRMSystem@kid ${s.kid} not in ContentKeyList`);
    if (!UUID.test(s.systemId ?? '')) return fail('Invalid DRMSystem@systemId');
  }
  for (const k of kids) {
    const types = rules.filter((r) => r.kid === k).map((r) => r.intendedTrackType);
    if (types.length === 0) return fail(`Missing ContentKeyUsageRule for KID ${k}`);
    if (!types.every((t) => ['VIDEO', 'AUDIO', 'ALL'].includes(t))) return fail('Invalid intendedTrackType');
  }
  for (const p of periods) {
    if (!/^\d+$/.test(p.index ?? '')) return fail('Invalid ContentKeyPeriod@index');
  }
  if (periods.length > 0) {
    const ids = new Set(periods.map((p) => p.id));
    if (filters.length !== rules.length || !filters.every((f) => ids.has(f.periodId))) {
      return fail('Missing KeyPeriodFilter for ContentKeyPeriod');
    }
  }
  return { problem: null, asked };
}

/**
 * Starts the provider. `mode`: 'ok', 'kid-override' (answers other KIDs), '422' (refuses every
 * request), 'malformed' (cut XML), 'slow' (answers after SLOW_MS), 'down' (resets each
 * connection). Returns { url, requests, problems, keyFor, overrideOf, setMode, close }.
 */
export async function startSpekeMock({ seed = 'edgepack-e2e-speke', mode = 'ok' } = {}) {
  const requests = [];
  const problems = [];
  const sockets = new Set();
  const keyFor = (kid) => createHmac('sha256', seed).update(hex(kid)).digest().subarray(0, 16);
  const overrideOf = (kid) => uuidOf(createHmac('sha256', seed).update(`override ${hex(kid)}`).digest('hex').slice(0, 32));

  function answer(asked, xml) {
    const rename = (kid) => (mode === 'kid-override' ? overrideOf(kid) : kid);
    let out = xml.replace(/<\?xml[^>]*\?>\s*/, '');
    // ContentKey: add the key.
    out = out.replace(/<cpix:ContentKey\b([^>]*?)\s*\/>/g, (m, attrs) => {
      const kid = /kid="([^"]*)"/.exec(attrs)[1];
      const renamed = attrs.replace(kid, rename(kid));
      return `<cpix:ContentKey${renamed}><cpix:Data><pskc:Secret><pskc:PlainValue>${b64(keyFor(rename(kid)))}</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>`;
    });
    // DRMSystem: fill the empty elements the request listed.
    out = out.replace(/(<cpix:DRMSystem\b[^>]*>)([\s\S]*?)(<\/cpix:DRMSystem>)/g, (m, open, body, close) => {
      const kid = /kid="([^"]*)"/.exec(open)[1];
      const system = /systemId="([^"]*)"/.exec(open)[1].toLowerCase();
      const k = rename(kid);
      const keyUri = system === SYSTEMS.aes128 ? `https://provider.invalid/keys/${hex(k)}` : `skd://${hex(k)}`;
      const method = system === SYSTEMS.aes128 ? 'AES-128' : 'SAMPLE-AES';
      const format = system === SYSTEMS.aes128 ? '' : `,KEYFORMAT="urn:uuid:${system}",KEYFORMATVERSIONS="1"`;
      const filled = body
        .replace(/<cpix:PSSH\/>/, () => `<cpix:PSSH>${b64(psshBox(system, [k]))}</cpix:PSSH>`)
        .replace(/<cpix:ContentProtectionData\/>/, () => `<cpix:ContentProtectionData>${b64(`<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">${b64(psshBox(system, [k]))}</cenc:pssh>`)}</cpix:ContentProtectionData>`)
        .replace(/<cpix:URIExtXKey\/>/, () => `<cpix:URIExtXKey>${b64(keyUri)}</cpix:URIExtXKey>`)
        .replace(/<cpix:HLSSignalingData playlist="media"\/>/, () => `<cpix:HLSSignalingData playlist="media">${b64(`#EXT-X-KEY:METHOD=${method},URI="${keyUri}"${format}`)}</cpix:HLSSignalingData>`)
        .replace(/<cpix:HLSSignalingData playlist="master"\/>/, () => `<cpix:HLSSignalingData playlist="master">${b64(`#EXT-X-SESSION-KEY:METHOD=${method},URI="${keyUri}"${format}`)}</cpix:HLSSignalingData>`);
      return open.replace(kid, k) + filled + close;
    });
    out = out.replace(/(<cpix:ContentKeyUsageRule\b[^>]*kid=")([^"]*)(")/g, (m, a, kid, b) => a + rename(kid) + b);
    return `<?xml version="1.0" encoding="UTF-8"?>\n${out}`;
  }

  const server = createServer((req, res) => {
    if (mode === 'down') {
      req.socket.destroy();
      return;
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_REQUEST) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const xml = Buffer.concat(chunks).toString('utf8');
      const { problem, asked } = checkRequest(req.headers, xml);
      requests.push({ method: req.method, url: req.url, headers: req.headers, xml, asked, at: Date.now() });
      const reply = (status, body) => {
        res.writeHead(status, {
          'content-type': status === 200 ? 'application/xml' : 'text/plain',
          'x-speke-version': '2.0',
          'x-speke-user-agent': 'edgepack-e2e-speke-mock',
        });
        res.end(body);
      };
      if (req.method !== 'POST') return reply(405, 'POST only');
      if (problem) {
        problems.push(problem);
        return reply(422, problem);
      }
      switch (mode) {
        case '422':
          return reply(422, 'Missing CPIX@contentId');
        case 'malformed':
          return reply(200, answer(asked, xml).slice(0, 200));
        case 'slow':
          return setTimeout(() => reply(200, answer(asked, xml)), SLOW_MS);
        default:
          return reply(200, answer(asked, xml));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/speke/v2`;
  return {
    url,
    requests,
    problems,
    keyFor,
    overrideOf,
    setMode: (m) => {
      mode = m;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
