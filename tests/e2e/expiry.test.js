// Time-shift retention on the Worker: the cron trigger runs archive expiry in workerd against
// real (local) KV and R2. Archive objects are written directly, aged past retention, since a
// test cannot wait days; the segment objects they name must go, fresh ones must stay.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startOrigin } from './lib/origin.js';

const DAY = 86_400_000;
const BUCKET = 600_000;

describe('archive expiry by the cron trigger (workerd)', () => {
  let origin;
  let channelId;

  before(async () => {
    origin = await startOrigin();
    assert.equal((await origin.api('POST', '/api/v1/groups', { name: 'ex' })).status, 201);
    assert.equal((await origin.api('POST', '/api/v1/groups/ex/channels', { name: 'ch' })).status, 201);
    const ep = await origin.api('POST', '/api/v1/groups/ex/channels/ch/endpoints', { name: 'ts', time_shift_days: 1 });
    assert.equal(ep.status, 201, ep.text);
    const channel = JSON.parse(await origin.kv.get('cfg/c/ex/ch'));
    channelId = channel.id;
    assert.equal(channel.archive_retention_s, 86_400);
  });

  after(async () => {
    await origin?.dispose();
  });

  async function archive(ageMs, seq) {
    const pdt = Date.now() - ageMs;
    const bucket = Math.floor(pdt / BUCKET) * BUCKET;
    const key = `seg/${channelId}/1/v/seg${seq}.ts@${String(pdt).padStart(13, '0')}`;
    await origin.bucket.put(key, new Uint8Array(188).fill(0x47));
    const entry = { s: seq, e: seq, u: `seg${seq}.ts`, k: key, d: 180000, b: 188, p: pdt, a: pdt };
    const archiveKey = `arc/${channelId}/1/v/index@${String(bucket).padStart(13, '0')}.json`;
    await origin.bucket.put(archiveKey, JSON.stringify([entry]));
    return { key, archiveKey };
  }

  it('deletes archived content past retention and keeps the rest', async () => {
    const old = await archive(3 * DAY, 1);
    const fresh = await archive(2 * 3_600_000, 2);
    const worker = await origin.mf.getWorker();
    const result = await worker.scheduled({ cron: '*/5 * * * *' });
    assert.equal(result.outcome, 'ok');
    const keys = await origin.r2Keys('');
    assert.ok(!keys.includes(old.key), 'expired segment deleted');
    assert.ok(!keys.includes(old.archiveKey), 'expired archive bucket deleted');
    assert.ok(keys.includes(fresh.key), 'segment within retention kept');
    assert.ok(keys.includes(fresh.archiveKey), 'bucket within retention kept');
  });

  it('the maintenance route does the same work for other schedulers', async () => {
    const old = await archive(5 * DAY, 3);
    const res = await origin.api('POST', '/api/v1/maintenance/expire');
    assert.equal(res.status, 200, res.text);
    const report = JSON.parse(res.text);
    assert.equal(report.segments_deleted, 1, res.text);
    assert.ok(!(await origin.r2Keys('')).includes(old.key));
  });
});
