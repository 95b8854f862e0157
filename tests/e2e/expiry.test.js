// Time-shift retention on the Worker: the cron trigger runs archive expiry in workerd against
// real (local) KV and R2. Archive objects are written directly, aged past retention, since a
// test cannot wait days; the segment objects they name must go, fresh ones must stay.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startOrigin } from './lib/origin.js';
import { startEncoder } from './lib/encoder.js';
import { createChannel } from './lib/packaging-channel.js';
import { startPlayers, summary, MIN_ADVANCE_SECONDS } from './lib/players.js';
import { get, readMaster, readMedia } from './lib/endpoint.js';
import { tempDir } from './lib/paths.js';
import { waitFor } from './lib/wait.js';

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

// The end-to-end case: live content aged past retention goes in a scheduled run, while
// the channel keeps playing. Days cannot pass in a test: the run is given a `scheduledTime` one
// day and an hour ahead (the Worker takes its clock from the tick), so every segment archived so
// far has expired and the live window, never archived, must stay.
describe('expiry during a live push (workerd, ffmpeg, hls.js)', () => {
  let origin;
  let encoder;
  let players;
  let master;

  before(async () => {
    const dir = await tempDir('expiry-live');
    origin = await startOrigin({ dir: join(dir, 'origin') });
    const { input } = await createChannel(origin, {
      group: 'lx',
      channel: 'ch',
      endpoints: [{ name: 'hls', time_shift_days: 1 }],
    });
    // The shortest live window (30 s), so a 60 s push archives half of what it sends.
    const patch = await origin.api('PATCH', '/api/v1/groups/lx/channels/ch', { max_playlist_duration: 30 });
    assert.equal(patch.status, 200, patch.text);
    encoder = startEncoder({
      logFile: join(dir, 'ffmpeg.log'),
      base: input.url,
      seconds: 120,
      auth: { username: input.username, password: input.password },
    });
    master = `${origin.url}/out/v1/lx/ch/hls/manifest.m3u8`;
    players = await startPlayers();
  });

  after(async () => {
    encoder?.stop('SIGKILL');
    await encoder?.done.catch(() => {});
    await players?.close();
    await origin?.dispose();
  });

  /** Segment keys listed in the archive buckets now. */
  async function archivedSegments() {
    const keys = [];
    for (const key of await origin.r2Keys('arc/')) {
      const body = await (await origin.bucket.get(key))?.text();
      for (const entry of JSON.parse(body ?? '[]')) keys.push(entry.k);
    }
    return keys;
  }

  it('deletes the archived segments and the live manifest still plays', async () => {
    const archived = await waitFor(
      '12 archived segments',
      async () => {
        const keys = await archivedSegments();
        return keys.length >= 12 ? keys : null;
      },
      { timeoutMs: 100_000, intervalMs: 2000 },
    );
    const stored = new Set(await origin.r2Keys('seg/'));
    assert.ok(archived.every((k) => stored.has(k)), 'archived segments are stored before expiry');

    const worker = await origin.mf.getWorker();
    const result = await worker.scheduled({ cron: '*/5 * * * *', scheduledTime: new Date(Date.now() + DAY + 3_600_000) });
    assert.equal(result.outcome, 'ok');

    const after = new Set(await origin.r2Keys('seg/'));
    const left = archived.filter((k) => after.has(k));
    assert.deepEqual(left, [], 'every segment archived before the run is deleted');

    // The live window is untouched: every segment of every rendition playlist is served.
    const { renditions } = await readMaster(master);
    for (const r of renditions) {
      const { playlist } = await readMedia(r.url);
      assert.ok(playlist.segments.length >= 3, `${r.url} lists ${playlist.segments.length} segments`);
      for (const s of playlist.segments) {
        const res = await get(new URL(s.uri, r.url).href);
        assert.equal(res.status, 200, res.describe());
      }
    }
    const play = await players.play({ player: 'hls.js', url: master, timeoutMs: 30_000 });
    assert.deepEqual(play.fatal, [], summary(play));
    assert.ok(play.advanced >= MIN_ADVANCE_SECONDS, summary(play));
  });

  it('deleting the channel removes everything it stored in the next run', async () => {
    encoder.stop('SIGKILL');
    await encoder.done.catch(() => {});
    const { id } = JSON.parse(await origin.kv.get('cfg/c/lx/ch'));
    assert.equal((await origin.api('DELETE', '/api/v1/groups/lx/channels/ch/endpoints/hls')).status, 204);
    assert.equal((await origin.api('DELETE', '/api/v1/groups/lx/channels/ch')).status, 204);
    // One run removes at most 1,000 objects: a few runs, as the cron trigger would.
    let removed = 0;
    for (let run = 0; run < 5; run += 1) {
      const res = await origin.api('POST', '/api/v1/maintenance/expire');
      assert.equal(res.status, 200, res.text);
      removed += JSON.parse(res.text).deleted_channel_objects;
    }
    assert.ok(removed > 0, `removed ${removed}`);
    // Only the deletion marker is left until its grace period ends; with channel state in a
    // Durable Object, the run also dropped the object's rows (docs/storage.md).
    const left = (await origin.r2Keys('')).filter((k) => k.includes(id));
    assert.deepEqual(left, [`gone/${id}`]);
  });
});
