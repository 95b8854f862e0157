// Statistics on the Spin component (docs/stats.md, "Spin"): with `stats = "kv"` the stats
// routes answer on the Spin host from the requests made to it, and refuse requests without the
// admin token. A light check: the counting itself is covered on the Worker (../stats.test.js)
// and in the core (shared/tests/stats.rs).
import { describe } from 'node:test';
import assert from 'node:assert/strict';
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
