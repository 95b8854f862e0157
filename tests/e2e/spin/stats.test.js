// Statistics on the Spin component (docs/stats.md, "Spin"): with `stats = "kv"` the stats
// routes answer on the Spin host from the requests made to it, and refuse requests without the
// admin token. A light check: the counting itself is covered on the Worker (../stats.test.js)
// and in the core (shared/tests/stats.rs). With `stats = "otlp"` each playback request's data
// points reach a stand-in OpenTelemetry collector on 127.0.0.1 as an OTLP/HTTP JSON export,
// after the response, which a slow or silent collector does not delay.
import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { startSpinOrigin } from '../lib/spin-host.js';
import { get } from '../lib/endpoint.js';
import { channelPaths, show } from '../lib/api.js';
import { trackedTests } from '../lib/run.js';
import { originSuite } from '../lib/suite.js';

const tests = trackedTests();
const { it } = tests;

const NAMES = { group: 'spin-stats', channel: 'live', endpoint: 'hls' };
const P = channelPaths(NAMES);
const STATS = `${P.endpoints}/${NAMES.endpoint}/stats`;
/** Playback requests made before reading the figures. */
const REQUESTS = 3;

describe('spin: the stats routes answer on the Spin host', { timeout: 60_000 }, () => {
  const suite = originSuite(tests, 'spin-stats', {
    start: (opts) => startSpinOrigin({ ...opts, env: { SPIN_VARIABLE_STATS: 'kv' } }),
    originDir: 'host',
    players: async () => ({ close: async () => {} }),
  });

  it('counts playback requests and refuses requests without the token', async () => {
    const api = suite.origin.api;
    assert.equal((await api('POST', '/api/v1/groups', { name: NAMES.group })).status, 201);
    assert.equal((await api('POST', `${P.group}/channels`, { name: NAMES.channel })).status, 201);
    const e = await api('POST', P.endpoints, { name: NAMES.endpoint, protocol: 'HLS' });
    assert.equal(e.status, 201, show(e));
    const from = Math.floor(Date.now() / 1000) - 1;
    // No content yet: each answer is a 404, counted as a 4xx without a viewer.
    for (let i = 0; i < REQUESTS; i++) {
      const res = await get(e.json.url);
      assert.equal(res.status, 404, res.describe());
    }
    const none = await api('GET', STATS, undefined, { token: null });
    assert.equal(none.status, 401, show(none));
    const channel = await api('GET', `${P.channel}/stats`, undefined, { token: null });
    assert.equal(channel.status, 401, show(channel));
    const res = await api('GET', `${STATS}?from=${from}&step=10`);
    assert.equal(res.status, 200, show(res));
    assert.equal(res.json.totals.requests, REQUESTS, show(res));
    assert.equal(res.json.totals.status['4xx'], REQUESTS, show(res));
    assert.ok(res.json.totals.bytes > 0, show(res));
    assert.equal(res.json.totals.unique_viewers, 0, show(res));
    const bad = await api('GET', `${STATS}?from=${from}&to=${from - 10}`);
    assert.equal(bad.status, 400, show(bad));
    assert.equal(bad.json?.field, 'from', show(bad));
  });
});

/**
 * A stand-in for an OpenTelemetry collector's OTLP/HTTP receiver: records each POST to
 * /v1/metrics (content type and JSON body) and answers 200 `{}`; with `delayMs` it answers
 * that much later.
 */
async function startCollector() {
  const collector = { exports: [], delayMs: 0 };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = { unparsed: text.slice(0, 200) };
      }
      collector.exports.push({ method: req.method, path: req.url, type: req.headers['content-type'], body, at: Date.now() });
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (collector.delayMs > 0) setTimeout(answer, collector.delayMs);
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  collector.url = `http://127.0.0.1:${server.address().port}`;
  collector.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    });
  return collector;
}

/** The data points of metric `name` in an export, with their attributes as an object. */
function points(body, name) {
  const metrics = body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
  const m = metrics.find((x) => x.name === name);
  if (!m) return [];
  return m.sum.dataPoints.map((d) => ({
    ...d,
    temporality: m.sum.aggregationTemporality,
    unit: m.unit,
    attrs: Object.fromEntries(d.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue])),
  }));
}

/** The collector answers this late in the second part: longer than the export's 2 s bound. */
const SLOW_COLLECTOR_MS = 5_000;
/** A playback answer that does not wait for the export comes well within this. */
const UNDELAYED_MS = 1_500;

describe('spin: stats = "otlp" sends OpenTelemetry metrics to the collector', { timeout: 60_000 }, () => {
  const suite = originSuite(tests, 'spin-otlp', {
    start: async (opts) => {
      suite.ctx.collector = await startCollector();
      return startSpinOrigin({
        ...opts,
        env: { SPIN_VARIABLE_STATS: 'otlp', SPIN_VARIABLE_OTLP_ENDPOINT: suite.ctx.collector.url },
      });
    },
    originDir: 'host',
    players: async () => ({ close: async () => {} }),
    stop: (ctx) => ctx.collector?.close(),
  });

  it('one export per playback request, with the metric names, attributes and values', async () => {
    const { collector } = suite.ctx;
    const api = suite.origin.api;
    const names = { group: 'spin-otlp', channel: 'live', endpoint: 'hls' };
    const p = channelPaths(names);
    assert.equal((await api('POST', '/api/v1/groups', { name: names.group })).status, 201);
    assert.equal((await api('POST', `${p.group}/channels`, { name: names.channel })).status, 201);
    const e = await api('POST', p.endpoints, { name: names.endpoint, protocol: 'HLS' });
    assert.equal(e.status, 201, show(e));
    assert.equal(collector.exports.length, 0, 'control API requests are not data points');
    const sent = [];
    for (let i = 0; i < REQUESTS; i++) {
      const res = await get(e.json.url);
      assert.equal(res.status, 404, res.describe());
      sent.push(res.body.length);
    }
    const deadline = Date.now() + 5_000;
    while (collector.exports.length < REQUESTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(collector.exports.length, REQUESTS, JSON.stringify(collector.exports));
    for (const [i, x] of collector.exports.entries()) {
      assert.equal(x.method, 'POST');
      assert.equal(x.path, '/v1/metrics');
      assert.equal(x.type, 'application/json');
      const resource = x.body.resourceMetrics[0].resource.attributes;
      assert.deepEqual(resource, [{ key: 'service.name', value: { stringValue: 'edgepack' } }]);
      const [requests] = points(x.body, 'edgepack.play.requests');
      const [bytes] = points(x.body, 'edgepack.play.bytes');
      assert.equal(requests.asInt, '1', JSON.stringify(x.body));
      assert.equal(requests.temporality, 1, 'delta');
      assert.deepEqual(requests.attrs, {
        'edgepack.group': names.group, 'edgepack.channel': names.channel, 'edgepack.endpoint': names.endpoint,
        'http.response.status_code': '404',
      });
      assert.equal(bytes.unit, 'By');
      assert.equal(bytes.asInt, String(sent[i]), JSON.stringify(x.body));
      assert.ok(BigInt(requests.timeUnixNano) > BigInt(requests.startTimeUnixNano));
      // A 404 carries no viewer key.
      assert.deepEqual(points(x.body, 'edgepack.play.viewer_requests'), []);
    }
    // The stats routes cannot read the figures back: they are in the metrics backend.
    const report = await api('GET', `${p.endpoints}/${names.endpoint}/stats`);
    assert.equal(report.status, 500, show(report));
    assert.match(report.text, /otlp/, show(report));
  });

  it('a slow collector delays no response; an export is abandoned after its bound', async () => {
    const { collector } = suite.ctx;
    collector.delayMs = SLOW_COLLECTOR_MS;
    const before = collector.exports.length;
    const url = `${suite.origin.url}/out/v1/spin-otlp/live/hls/manifest.m3u8`;
    const started = Date.now();
    const res = await get(url);
    const took = Date.now() - started;
    assert.equal(res.status, 404, res.describe());
    assert.ok(took < UNDELAYED_MS, `the answer took ${took} ms`);
    const deadline = Date.now() + 5_000;
    while (collector.exports.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(collector.exports.length, before + 1, 'the export was sent');
    // The component gives up 2 s after sending and says so on stderr (the host's log).
    const gaveUp = () => readFileSync(suite.origin.logFile, 'utf8').includes('no answer within 2000 ms');
    const logDeadline = Date.now() + 6_000;
    while (!gaveUp() && Date.now() < logDeadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(gaveUp(), readFileSync(suite.origin.logFile, 'utf8').slice(-2000));
    collector.delayMs = 0;
  });
});
