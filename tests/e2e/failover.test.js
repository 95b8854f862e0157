// Acceptance tests of issue 5 (redundant inputs) on the real runtime: the built Worker in
// workerd (Miniflare), two real encoders (ffmpeg pushing one pre-recorded source live with
// identical or shifted timestamps) and real players (hls.js and Shaka in Chromium). Encoder 1
// is killed mid-stream; output must continue from input 2 without a break for viewers.
import { describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdir, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startOrigin } from './lib/origin.js';
import { tail, FPS } from './lib/encoder.js';
import {
  recordSource, sourceMaster, putMaster, startPush, SEGMENT_SECONDS,
} from './lib/failover-encoder.js';
import { startBrowser, describeState } from './lib/failover-player.js';
import {
  watchPlaylists, watchStatus, checkFetches, checkRounds, sequenceTrace, probePair, TS_HZ,
  waitForLevelUploads,
} from './lib/failover-checks.js';
import { startRelay } from './lib/failover-relay.js';
import { readMaster, readMedia } from './lib/endpoint.js';
import { tempDir } from './lib/paths.js';
import { show } from './lib/api.js';
import { trackedTests } from './lib/run.js';
import { sharedContext } from './lib/suite.js';
import { sleep, waitFor } from './lib/wait.js';
import { openStream, parseTags, arrivalOf } from './lib/flv.js';

const { it, before, cleanup } = trackedTests();
const run = promisify(execFile);

/** The channel's failover timeout (s): small so the test is short, >= SEGMENT_SECONDS. */
const MAX_SEGMENT_DURATION = 4;
/** Endpoint window (segments): 12 s, widened to WINDOW_S; a discontinuity leaves it soon after the switch. */
const SEGMENT_COUNT = 6;
/**
 * The live window (s): SEGMENT_COUNT segments, widened to the hold-back (the failover timeout
 * and two segments), a segment and the 10 s start allowance (docs/timeline.md, "Hold-back").
 */
const WINDOW_S = Math.max(SEGMENT_COUNT * SEGMENT_SECONDS, MAX_SEGMENT_DURATION + 3 * SEGMENT_SECONDS + 10);
/** Source length (s): covers scenario A's push, kill, restart and hold. */
const SOURCE_SECONDS = 120;
/** Segments every output rendition lists before players start (3 target durations). */
const READY_SEGMENTS = 3;
/** Players play this long before encoder 1 is killed (scenario A; B needs less). */
const PLAY_BEFORE_KILL_MS = 15_000;
const PLAY_BEFORE_KILL_B_MS = 10_000;
/** After the switch, players keep playing at least this long before they are judged. */
const PLAY_AFTER_SWITCH_MS = 15_000;
/** Restarted encoder 1 must stay healthy this long without the output switching back. */
const HEALTHY_HOLD_MS = 3 * MAX_SEGMENT_DURATION * 1000;
/** Issue 5: a stall shorter than one segment duration. */
const MAX_STALL_MS = SEGMENT_SECONDS * 1000;
/** Silence beyond max_segment_duration, then up to one segment until input 2's next playlist, plus slack for a loaded machine. */
const SWITCH_TIMEOUT_MS = (MAX_SEGMENT_DURATION + 2 * SEGMENT_SECONDS) * 1000 + 8_000;
/** Timestamps of consecutive segments are continuous within one frame. */
const VIDEO_FRAME_TICKS = TS_HZ / FPS;
const AAC_FRAME_TICKS = (1024 * TS_HZ) / 48_000;
/** Scenario B: encoder 2's timestamps are shifted by this much (s). */
const MISALIGNED_OFFSET_S = 1000;
/** While playing, currentTime advances at least this fraction of wall time (rate 1, no long stall). */
const MIN_PLAY_RATE = 0.75;
const PLAYERS = ['hls.js', 'shaka'];
/** Scenarios C and D: inputs settle this long after the endpoint is ready, before the kill. */
const WARM_UP_MS = 4_000;
/**
 * Input 2's uploads reach the origin through a relay that adds this delay (lib/failover-relay.js):
 * both encoders start together, so input 1 delivers first and becomes the first active input,
 * and input 2 follows about half a second behind, as a second live encoder on the same clock.
 */
const IN_SYNC_DELAY_MS = 500;
/**
 * Scenario D: input 2's path delays it by well over max_segment_duration (encoder 1, which
 * waits for the origin's answer to each upload, runs up to ~2 s late itself on busy cores), so
 * when input 1 is found silent, input 2 has not yet delivered the segment that continues input
 * 1's last one.
 */
const BACKUP_DELAY_MS = 8_000;
/** Scenario C: uploads more than this apart belong to different segment boundaries. */
const BURST_GAP_MS = 500;
/**
 * Scenario A's HTTP-FLV session follows the output, one chunk per output segment. First arrival
 * keeps the output growing at the encoders' pace through the kill (input 2's copies are
 * already arriving), so at most this long (ms) may pass between two chunks: two segments plus
 * slack for a loaded machine, below what the timeout rule would take (max_segment_duration,
 * then a segment).
 */
const MAX_FLV_GAP_MS = 2 * SEGMENT_SECONDS * 1000 + 1500;
const GROUP = 'fo-group';
/**
 * The scenarios to run (letters, default all): the R2-layout run (channel-state-r2.test.js)
 * takes C and D, the races between the inputs' state writes, and leaves the players of A and B
 * to the default layout.
 */
const SCENARIOS = process.env.EDGEPACK_FAILOVER_SCENARIOS ?? 'ABCD';
// A value naming no scenario would leave the suite with nothing to fail.
if (!/^[ABCD]+$/.test(SCENARIOS)) throw new Error(`EDGEPACK_FAILOVER_SCENARIOS: letters of ABCD, not ${JSON.stringify(SCENARIOS)}`);
/** `describe`, for a scenario this run takes. */
const scenario = (title, fn) => {
  if (SCENARIOS.includes(title[0])) describe(title, fn);
};
/** A scenario step's result may be a falsy value (a count, an empty list): set is defined. */
const isDefined = (v) => v !== undefined;

/** Fails with the first violations (and how many there were) when `list` is not empty. */
function noViolations(list, what) {
  const shown = list.slice(0, 30).join('\n');
  assert.ok(list.length === 0, `${what}: ${list.length}\n${shown}${list.length > 30 ? '\n...' : ''}`);
}

describe('failover: redundant inputs on the Worker with real encoders and players', { timeout: 420_000 }, () => {
  let dir, origin, browser, source, master;
  /** Everything started, so `after` can stop it by PID / handle. */
  const encoders = [];
  const relays = [];
  const sessions = [];
  const watchers = [];
  const streams = [];

  before(async () => {
    dir = await tempDir('failover');
    const [o, s] = await Promise.all([
      startOrigin({ dir: join(dir, 'origin') }),
      recordSource(join(dir, 'source.ts'), SOURCE_SECONDS),
    ]);
    origin = o;
    source = s;
    master = await sourceMaster(source.file, SOURCE_SECONDS);
    if (/[AB]/.test(SCENARIOS)) browser = await startBrowser();
    const g = await origin.api('POST', '/api/v1/groups', { name: GROUP });
    assert.ok([200, 201].includes(g.status), show(g));
  });

  after(async () => {
    for (const w of watchers) await w.stop().catch(() => {});
    for (const s of sessions) await s.close().catch(() => {});
    for (const s of streams) await s.stop().catch(() => {});
    for (const e of encoders) e.kill('SIGKILL');
    await Promise.all(encoders.map((e) => e.done.catch(() => {})));
    for (const r of relays) await r.close().catch(() => {});
    await browser?.close().catch(() => {});
    await origin?.dispose();
    await cleanup(dir);
  });

  /** A channel with the small failover timeout and one HLS endpoint (and an FLV one with `flv`). */
  async function createChannel(name, { flv = false } = {}) {
    const c = await origin.api('POST', `/api/v1/groups/${GROUP}/channels`, { name, protocol: 'HLS' });
    assert.ok([200, 201].includes(c.status), show(c));
    const path = `/api/v1/groups/${GROUP}/channels/${name}`;
    const p = await origin.api('PATCH', path, { max_segment_duration: MAX_SEGMENT_DURATION });
    assert.equal(p.status, 200, show(p));
    assert.equal(p.json?.max_segment_duration, MAX_SEGMENT_DURATION, show(p));
    const e = await origin.api('POST', `${path}/endpoints`, { name: 'hls', protocol: 'HLS', segment_count: SEGMENT_COUNT });
    assert.ok([200, 201].includes(e.status), show(e));
    let flvUrl = null;
    if (flv) {
      const f = await origin.api('POST', `${path}/endpoints`, { name: 'flv', protocol: 'FLV' });
      assert.ok([200, 201].includes(f.status), show(f));
      flvUrl = f.json.url;
    }
    const [one, two] = c.json.inputs;
    return { name, path, statusPath: `${path}/status`, inputs: { 1: one, 2: two }, masterUrl: e.json.url, flvUrl };
  }

  /** Starts an encoder pushing to `input` and sends its master playlist (sourceMaster). */
  async function push(ctx, input, { tsOffset = 0, seek = 0, label, via = null }) {
    const { url, username, password } = ctx.channel.inputs[input];
    const e = startPush({
      source: source.file,
      base: via ? via.url + new URL(url).pathname : url,
      auth: { username, password },
      tsOffset,
      seek,
      maxSeconds: SOURCE_SECONDS,
      logFile: join(dir, `${ctx.channel.name}-ffmpeg-${label}.log`),
    });
    encoders.push(e);
    await putMaster(url, { username, password }, master);
    return e;
  }

  async function status(ctx) {
    const res = await origin.api('GET', ctx.channel.statusPath);
    assert.equal(res.status, 200, show(res));
    return res.json;
  }

  /** The status fields that matter here, for diagnostics. */
  function brief(s) {
    return JSON.stringify({
      active_input: s.active_input,
      inputs: s.inputs?.map((i) => ({ id: i.id, healthy: i.healthy, active: i.active, last_segment_at: i.last_segment_at, renditions: i.renditions?.length })),
      switches: s.switches,
    });
  }

  /**
   * Both encoders start together; input 2's uploads go through a relay that delays them by
   * `delayMs` and holds them until input 1 is recorded as the first active input (input 1's go
   * through an undelayed one when `relayInput1`, so they can be cut) (two ffmpeg
   * processes started together on 2 busy cores deliver their first segment up to a second
   * apart, in either order). Waits until the endpoint lists READY_SEGMENTS in every rendition
   * and input 2 is healthy.
   */
  async function startInputs(ctx, { tsOffset2, delayMs = IN_SYNC_DELAY_MS, relayInput1 = false }) {
    ctx.statusWatch = watchStatus(origin, ctx.channel.statusPath);
    watchers.push(ctx.statusWatch);
    if (relayInput1) {
      ctx.relay1 = await startRelay({ target: origin.url, delayMs: 0 });
      relays.push(ctx.relay1);
    }
    let openPath;
    const hold = new Promise((resolve) => {
      openPath = resolve;
    });
    ctx.relay = await startRelay({ target: origin.url, delayMs, hold });
    relays.push(ctx.relay);
    [ctx.enc1, ctx.enc2] = await Promise.all([
      push(ctx, 1, { label: 'input1', via: ctx.relay1 ?? null }),
      push(ctx, 2, { label: 'input2', tsOffset: tsOffset2, via: ctx.relay }),
    ]);
    // Before any content the status shows a default log (see the test on a fresh channel):
    // wait for the recorded first decision, taken when the first segments arrive.
    const first = await waitFor(
      'the first active input to be recorded',
      async () => {
        const s = await status(ctx);
        const record = s.switches[0];
        return record && Date.parse(record.at) > 0 ? s : false;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    ).catch((err) => assert.fail(`${err.message}\nffmpeg 1 (${ctx.enc1.logFile}):\n${tail(ctx.enc1.log(), 12)}`));
    openPath();
    assert.equal(first.active_input, 1, `precondition: input 1 is the first active input: ${brief(first)}`);
    ctx.t0 = ctx.enc1.startedMs;
    const ready = await waitFor(
      `${READY_SEGMENTS} segments in every rendition of ${ctx.channel.masterUrl} and input 2 healthy`,
      async () => {
        const m = await readMaster(ctx.channel.masterUrl);
        if (m.renditions.length < 3) return false;
        for (const r of m.renditions) {
          if ((await readMedia(r.url)).playlist.segments.length < READY_SEGMENTS) return false;
        }
        const s = await status(ctx);
        return s.inputs[1].healthy ? m : false;
      },
      { timeoutMs: 30_000 },
    ).catch((err) => assert.fail(`${err.message}\nffmpeg 2 (${ctx.enc2.logFile}):\n${tail(ctx.enc2.log(), 12)}\nworkerd log: ${origin.logFile}`));
    ctx.renditions = [...new Set(ready.renditions.map((r) => r.url))];
    ctx.playlists = watchPlaylists(ctx.renditions);
    watchers.push(ctx.playlists);
    return ready;
  }

  /** Opens hls.js and Shaka on the master; returns once both play (currentTime advances). */
  async function startPlayers(ctx) {
    ctx.sessions = [];
    for (const player of PLAYERS) {
      const s = await browser.open({ player, url: ctx.channel.masterUrl });
      sessions.push(s);
      ctx.sessions.push(s);
    }
    for (const s of ctx.sessions) {
      await waitFor(`${s.player} playing`, async () => {
        const st = await s.state();
        if (st.fatal.length > 0) throw new Error(`fatal: ${describeState(st)}`);
        return st.started && st.currentTime > st.startCurrentTime + 1;
      }, { timeoutMs: 30_000 }).catch(async (err) => assert.fail(`${err.message}\n${describeState(await s.state())}`));
    }
  }

  /**
   * Kills encoder 1 by PID at an upload `moment` and waits until the status shows input 2
   * active. 'level': right after all its renditions reached the same segment (the next uploads
   * are about a segment away). 'between-renditions': right after the first rendition of a
   * segment boundary got its segment and playlist to the origin, before the others' (input 1
   * must go through a relay), so renditions end one segment apart.
   */
  async function killAndSwitch(ctx, t, { moment = 'level' } = {}) {
    const before = await status(ctx);
    assert.equal(before.active_input, 1, `input 1 active before the kill: ${brief(before)}`);
    assert.ok(before.inputs.every((i) => i.healthy), `both inputs healthy before the kill: ${brief(before)}`);
    assert.equal(before.switches.length, 1, brief(before));
    ctx.playerAtKill = await Promise.all((ctx.sessions ?? []).map((s) => s.state()));
    if (moment === 'level') {
      ctx.killSeqs = await waitForLevelUploads(origin, ctx.channel.statusPath, 1);
      ctx.killMs = Date.now();
      assert.ok(ctx.enc1.kill('SIGKILL'), `encoder 1 (PID ${ctx.enc1.pid}) was still running`);
    } else {
      // At each segment boundary ffmpeg uploads every rendition's segment and playlist within
      // milliseconds on localhost (faster than a kill triggered by its log), in an order that
      // varies (a playlist may even precede its segment). So input 1's path is cut right after
      // the first rendition of a boundary whose segment and then playlist got through: that
      // rendition has the new segment, the rest of the boundary is lost with the encoder,
      // killed at once.
      let prev = null;
      let armed = false;
      const firstCommit = (f) => {
        if (prev && f.sentMs - prev.sentMs > BURST_GAP_MS) armed = true;
        const dir = (x) => x.path.slice(0, x.path.lastIndexOf('/'));
        const hit = armed && f.status !== null && f.status < 300 && /\/index\.m3u8$/.test(f.path)
          && prev !== null && /\/seg_\d+\.ts$/.test(prev.path) && dir(prev) === dir(f);
        prev = f;
        return hit;
      };
      const cutAt = await Promise.race([
        ctx.relay1.cutAfter(firstCommit),
        sleep(3 * SEGMENT_SECONDS * 1000).then(() => null),
      ]);
      assert.ok(cutAt, 'no rendition of input 1 uploaded a segment and then its playlist within 3 segments');
      ctx.killMs = Date.now();
      assert.ok(ctx.enc1.kill('SIGKILL'), `encoder 1 (PID ${ctx.enc1.pid}) was still running`);
      const last = ctx.relay1.forwarded.slice(-9).map((f) => `${f.dropped ? 'lost' : f.status} ${f.path.split('/').slice(-2).join('/')}`);
      ctx.killSeqs = `input 1's path cut after PUT ${cutAt.path.split('/').slice(-2).join('/')}; its last uploads: ${last.join(', ')}`;
    }
    await ctx.enc1.done;
    const after = await waitFor(
      'input 2 active after encoder 1 was killed',
      async () => {
        const s = await status(ctx);
        return s.active_input === 2 ? s : false;
      },
      { timeoutMs: SWITCH_TIMEOUT_MS, intervalMs: 250 },
    ).catch((err) => assert.fail(`${err.message}\nstatus samples: ${ctx.statusWatch.samples.slice(-3).map((x) => x.text).join('\n')}`));
    ctx.switchSeenMs = Date.now();
    ctx.switch = after.switches.at(-1);
    const lastFromOne = Date.parse(after.inputs[0].last_segment_at);
    const switchAt = Date.parse(ctx.switch.at);
    t.diagnostic(`encoder 1 (PID ${ctx.enc1.pid}) killed at +${((ctx.killMs - ctx.t0) / 1000).toFixed(1)} s (${moment}: ${JSON.stringify(ctx.killSeqs)}); input 1's last segment at ${after.inputs[0].last_segment_at}; switch recorded at ${ctx.switch.at} (${((switchAt - lastFromOne) / 1000).toFixed(1)} s after it, ${((switchAt - ctx.killMs) / 1000).toFixed(1)} s after the kill)`);
    t.diagnostic(`switch record: ${JSON.stringify(ctx.switch)}`);
    assert.ok(switchAt - lastFromOne > MAX_SEGMENT_DURATION * 1000, `switched only after input 1 was silent > ${MAX_SEGMENT_DURATION} s: ${brief(after)}`);
    return after;
  }

  /**
   * ffprobe decodes output segments `from`..`to` of every rendition; each consecutive pair's
   * timestamps are continuous (first PTS of n+1 == end of n, within one frame). Returns the
   * failures.
   */
  async function checkContinuity(ctx, t, from, to, label) {
    const probeDir = join(dir, `probe-${label}`);
    await mkdir(probeDir, { recursive: true });
    const failures = [];
    for (const url of ctx.renditions) {
      const name = url.split('/').slice(-3, -1).join('_');
      for (let n = from; n < to; n++) {
        let pair;
        try {
          pair = await probePair(url, n, probeDir, name);
        } catch (err) {
          failures.push(err.message);
          continue;
        }
        const { urls, probes, ranges } = pair;
        for (const [i, p] of probes.entries()) {
          if (p.errors !== '') failures.push(`ffprobe errors for ${urls[i]}: ${p.errors}`);
          if (!(p.streams.length > 0 && p.streams.every((x) => Number(x.nb_read_frames) > 0))) failures.push(`${urls[i]} decodes no frames: ${JSON.stringify(p.streams)}`);
        }
        for (const kind of Object.keys(ranges[0])) {
          const [a, b] = [ranges[0][kind], ranges[1][kind]];
          if (!b) {
            failures.push(`${urls[1]} has no ${kind}`);
            continue;
          }
          const tolerance = kind === 'audio' ? AAC_FRAME_TICKS : VIDEO_FRAME_TICKS;
          const gap = b.first - a.end;
          t.diagnostic(`${name} ${kind} ${n}.ts [${a.first}, ${a.end}) -> ${n + 1}.ts [${b.first}, ${b.end}): gap ${gap} ticks (tolerance ${tolerance})`);
          if (Math.abs(gap) > tolerance) failures.push(`${kind}: first PTS ${b.first} of ${urls[1]} != end ${a.end} of ${urls[0]} (gap ${gap} ticks = ${(gap / TS_HZ).toFixed(3)} s, more than one frame)`);
        }
      }
    }
    return failures;
  }

  /** Every upload of input 2's encoder reached the origin through the relay and was accepted. */
  function checkRelay(ctx, t) {
    const r = ctx.relay;
    t.diagnostic(`input 2's path: ${r.forwarded.length} uploads forwarded ${r.delayMs} ms late, ${r.pending()} pending`);
    assert.deepEqual(r.failures(), [], 'uploads of encoder 2 the origin refused');
  }

  /** Keeps every fetched playlist of a scenario in the run directory (kept after a failure). */
  async function savePlaylists(ctx) {
    const all = {
      poll: ctx.playlists.fetches.map(({ wallMs, url, status: code, text }) => ({ wallMs, url, status: code, text })),
      players: Object.fromEntries((ctx.sessions ?? []).map((s) => [s.player, s.playlists])),
      status: ctx.statusWatch.samples.map(({ wallMs, json }) => ({ wallMs, json })),
    };
    const file = join(dir, `${ctx.channel.name}-playlists.json`);
    await writeFile(file, JSON.stringify(all, null, 1));
    return file;
  }

  /**
   * Each player, since `sinceStates` (its state at the kill): no fatal error, currentTime
   * advanced with wall time, frames decoded, and (when `maxStallMs` is given) no interval
   * without progress that long in the whole session.
   */
  async function judgePlayers(ctx, t, { sinceStates, maxStallMs }) {
    const results = [];
    for (const [i, s] of ctx.sessions.entries()) {
      const st = await s.state();
      const since = sinceStates[i];
      const wallS = (st.nowMs - since.nowMs) / 1000;
      const advanced = st.currentTime - since.currentTime;
      t.diagnostic(`${s.player}: currentTime ${since.currentTime.toFixed(2)} -> ${st.currentTime.toFixed(2)} (+${advanced.toFixed(2)} s in ${wallS.toFixed(1)} s wall), frames ${since.frames} -> ${st.frames}, longest stall over the whole session ${st.longestStallMs} ms (sampled every 100 ms), stalls > 0.5 s: ${JSON.stringify(st.meter.stalls)}, seeks back: ${JSON.stringify(st.meter.backwards)}, non-fatal: ${JSON.stringify(st.warnings.slice(-5))}`);
      results.push({ s, st, wallS, advanced });
    }
    for (const { s, st, wallS, advanced } of results) {
      assert.deepEqual(st.fatal, [], `${s.player}: fatal errors\n${describeState(st)}`);
      assert.ok(advanced >= MIN_PLAY_RATE * wallS, `${s.player}: currentTime advanced ${advanced.toFixed(2)} s in ${wallS.toFixed(1)} s\n${describeState(st)}`);
      assert.ok(st.frames > 0, `${s.player}: frames decoded\n${describeState(st)}`);
      if (maxStallMs !== undefined) {
        assert.ok(st.longestStallMs < maxStallMs, `${s.player}: longest stall ${st.longestStallMs} ms >= one segment (${maxStallMs} ms)\n${describeState(st)}`);
      }
    }
    return results;
  }

  // --- scenario A: aligned inputs -----------------------------------------------------------

  scenario('A: aligned inputs (identical timestamps)', () => {
    const { ctx, need } = sharedContext(isDefined);

    it('a new channel reports no active input and no switch before any content arrived', async (t) => {
      ctx.channel = await createChannel('aligned', { flv: true });
      const res = await origin.api('GET', ctx.channel.statusPath);
      t.diagnostic(show(res));
      assert.equal(res.status, 200, show(res));
      assert.deepEqual(res.json.inputs.map((i) => i.healthy), [false, false], show(res));
      // Nothing was decided yet: a record here would be a switch that never happened.
      assert.deepEqual(res.json.switches, [], `no switch recorded before content: ${show(res)}`);
      assert.equal(res.json.active_input, null, `no active input before content: ${show(res)}`);
    });

    it('both encoders push the same source to inputs 1 and 2; hls.js and Shaka play', async (t) => {
      t.diagnostic(`source: ${SOURCE_SECONDS} s recorded in ${source.ms} ms (${source.file})`);
      ctx.channel ??= await createChannel('aligned', { flv: true });
      await startInputs(ctx, { tsOffset2: 0 });
      t.diagnostic(`ready after ${((Date.now() - ctx.t0) / 1000).toFixed(1)} s; renditions ${ctx.renditions.join(' ')}`);
      await startPlayers(ctx);
      ctx.playing = true;
    });

    it('killing encoder 1 switches the output to input 2 (status: active 2, input 1 unhealthy, no discontinuity)', async (t) => {
      need('playing');
      // An HTTP-FLV viewer is watching too (issue 15: a failover during an FLV session).
      const flv = await openStream(ctx.channel.flvUrl);
      streams.push(flv);
      ctx.flvSession = flv;
      await sleep(PLAY_BEFORE_KILL_MS);
      const s = await killAndSwitch(ctx, t);
      assert.equal(s.active_input, 2, brief(s));
      assert.equal(s.inputs[0].healthy, false, `input 1 unhealthy: ${brief(s)}`);
      assert.equal(s.inputs[1].healthy, true, `input 2 healthy: ${brief(s)}`);
      assert.equal(s.switches.length, 2, `one switch recorded: ${brief(s)}`);
      assert.equal(ctx.switch.input, 2, brief(s));
      assert.equal(ctx.switch.discontinuity, false, `aligned inputs switch without a discontinuity: ${brief(s)}`);
    });

    it('the output segments either side of the switch decode and their timestamps are continuous', async (t) => {
      const sw = need('switch');
      const failures = await checkContinuity(ctx, t, sw.from_sequence - 1, sw.from_sequence, 'aligned');
      noViolations(failures, 'segments either side of the switch');
    });

    it('playback continues across the switch: no fatal error, stall shorter than one segment', async (t) => {
      need('switch');
      const remaining = ctx.switchSeenMs + PLAY_AFTER_SWITCH_MS - Date.now();
      if (remaining > 0) await sleep(remaining);
      await judgePlayers(ctx, t, { sinceStates: ctx.playerAtKill, maxStallMs: MAX_STALL_MS });
    });

    it('an HTTP-FLV session open across the kill keeps playing: timestamps never go back, video keeps coming after the switch, ffmpeg decodes every frame', async (t) => {
      need('switch');
      const { status: code, bytes, arrivals, ended } = await need('flvSession').stop();
      assert.equal(code, 200);
      const tags = parseTags(bytes);
      assert.ok(tags.length > 0, `${bytes.length} bytes, no tag`);
      for (const [kind, type] of [['video', 9], ['audio', 8]]) {
        const list = tags.filter((x) => x.type === type);
        for (let i = 1; i < list.length; i++) {
          assert.ok(list[i].ts >= list[i - 1].ts, `${kind} timestamp back at tag ${i}: ${list[i - 1].ts} -> ${list[i].ts}`);
        }
      }
      // Coded pictures (not sequence headers), with the wall time each arrived.
      const pictures = tags.filter((x) => x.type === 9 && x.second === 1).map((x) => ({ ...x, wallMs: arrivalOf(arrivals, x.end) }));
      const since = (ms) => pictures.filter((x) => x.wallMs > ms);
      const span = (list) => (list.length > 1 ? list.at(-1).ts - list[0].ts : 0);
      const afterKill = since(ctx.killMs);
      const afterSwitch = since(ctx.switchSeenMs);
      const wallAfterKill = arrivals.at(-1).wallMs - ctx.killMs;
      const gaps = arrivals.filter((a) => a.wallMs >= ctx.killMs).map((a, i, list) => (i === 0 ? 0 : a.wallMs - list[i - 1].wallMs));
      const longestGap = Math.max(0, ...gaps);
      t.diagnostic(`FLV session: ${bytes.length} bytes in ${arrivals.length} chunks, ${pictures.length} pictures over ${span(pictures)} ms; after the kill ${afterKill.length} over ${span(afterKill)} ms in ${wallAfterKill} ms wall, after the switch was seen ${afterSwitch.length} over ${span(afterSwitch)} ms; longest wait between chunks from the kill on ${longestGap} ms; ended by the origin: ${ended}`);
      assert.ok(span(afterSwitch) >= (PLAY_AFTER_SWITCH_MS / 2), `video after the switch spans ${span(afterSwitch)} ms`);
      assert.ok(span(afterKill) >= MIN_PLAY_RATE * wallAfterKill, `video after the kill spans ${span(afterKill)} ms of ${wallAfterKill} ms wall`);
      assert.ok(longestGap <= MAX_FLV_GAP_MS, `the FLV stream paused ${longestGap} ms (> ${MAX_FLV_GAP_MS}) after the kill`);
      // Every picture decodes: the captured bytes up to the last whole tag, through ffprobe.
      const file = join(dir, 'aligned-session.flv');
      await writeFile(file, bytes.subarray(0, tags.at(-1).end));
      const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames', '-of', 'json', file], { maxBuffer: 4 << 20 });
      assert.equal(stderr.trim(), '', `ffprobe ${file}: ${stderr.slice(0, 2000)}`);
      const streamsProbed = JSON.parse(stdout).streams;
      const decoded = Number(streamsProbed.find((x) => x.codec_type === 'video')?.nb_read_frames);
      t.diagnostic(`ffprobe ${file}: ${JSON.stringify(streamsProbed)}`);
      assert.equal(decoded, pictures.length, `video frames decoded from ${file}`);
      assert.ok(Number(streamsProbed.find((x) => x.codec_type === 'audio')?.nb_read_frames) > 0, `audio frames decoded from ${file}`);
    });

    it('restarting encoder 1 does not switch back while input 2 stays healthy', async (t) => {
      need('switch');
      // A restarted live encoder carries on at the live position, on the same time grid.
      const seek = Math.floor((Date.now() - ctx.enc2.startedMs) / 1000 / SEGMENT_SECONDS) * SEGMENT_SECONDS;
      ctx.enc1b = await push(ctx, 1, { label: 'input1-restart', seek });
      const healthy = await waitFor('input 1 healthy again', async () => {
        const s = await status(ctx);
        return s.inputs[0].healthy ? s : false;
      }, { timeoutMs: 20_000 }).catch((err) => assert.fail(`${err.message}\nffmpeg 1 restart (${ctx.enc1b.logFile}):\n${tail(ctx.enc1b.log(), 12)}`));
      const healthyFromMs = Date.now();
      t.diagnostic(`encoder 1 restarted (PID ${ctx.enc1b.pid}, -ss ${seek}); input 1 healthy after ${((healthyFromMs - ctx.enc1b.startedMs) / 1000).toFixed(1)} s: ${brief(healthy)}`);
      await sleep(HEALTHY_HOLD_MS);
      const s = await status(ctx);
      const during = ctx.statusWatch.samples.filter((x) => x.wallMs >= healthyFromMs && x.json);
      const flaps = during.filter((x) => x.json.active_input !== 2 || x.json.switches.length !== 2);
      const unhealthy = during.filter((x) => !x.json.inputs[0].healthy || !x.json.inputs[1].healthy);
      t.diagnostic(`status after ${HEALTHY_HOLD_MS / 1000} s with both healthy (${during.length} samples): ${brief(s)}`);
      assert.deepEqual(flaps.map((x) => x.text), [], 'active input or switch log changed while both inputs were healthy');
      assert.deepEqual(unhealthy.map((x) => x.text), [], 'both inputs stayed healthy during the hold');
      assert.equal(s.active_input, 2, brief(s));
      assert.equal(s.switches.length, 2, `no new switch: ${brief(s)}`);
      assert.equal(s.inputs[0].healthy, true, brief(s));
      ctx.restartChecked = true;
    });

    it('every rendition playlist fetched during the test kept the timeline rules (no discontinuity)', async (t) => {
      need('switch');
      await ctx.playlists.stop();
      t.diagnostic(`every fetched playlist: ${await savePlaylists(ctx)}`);
      const fetches = ctx.playlists.fetches;
      const violations = [
        ...checkFetches(fetches, { aligned: true, source: 'poll' }),
        ...checkRounds(fetches),
      ];
      let playerFetches = 0;
      for (const s of ctx.sessions) {
        const list = s.parsedPlaylists();
        playerFetches += list.length;
        violations.push(...checkFetches(list, { aligned: true, source: s.player }));
      }
      const trace = sequenceTrace(fetches, ctx.t0);
      t.diagnostic(`${fetches.length} polled fetches and ${playerFetches} player fetches; kill at +${((ctx.killMs - ctx.t0) / 1000).toFixed(1)} s, switch from output ${ctx.switch.from_sequence}; trace (segment URIs):`);
      for (const line of trace) t.diagnostic(line);
      noViolations(violations, 'playlist rule violations');
      checkRelay(ctx, t);
      for (const url of ctx.renditions) {
        const last = fetches.filter((f) => f.url === url && f.playlist).at(-1);
        assert.ok(last.playlist.segments.at(-1).sequence >= ctx.switch.from_sequence + 3, `${url} advanced past the switch: ${last.text}`);
      }
    });

    it('players kept playing through the restart of encoder 1', async (t) => {
      need('restartChecked');
      await judgePlayers(ctx, t, { sinceStates: ctx.playerAtKill, maxStallMs: MAX_STALL_MS });
      for (const s of ctx.sessions) await s.close();
      await ctx.statusWatch.stop();
      for (const e of [ctx.enc1b, ctx.enc2]) e.kill('SIGKILL');
      await Promise.all([ctx.enc1b.done, ctx.enc2.done]);
    });
  });

  // --- scenario B: misaligned inputs ---------------------------------------------------------

  scenario('B: misaligned inputs (encoder 2 shifted by 1000 s)', () => {
    const { ctx, need } = sharedContext(isDefined);

    it('encoder 2 pushes the same content with shifted timestamps; hls.js and Shaka play', async (t) => {
      ctx.channel = await createChannel('misaligned');
      await startInputs(ctx, { tsOffset2: MISALIGNED_OFFSET_S });
      t.diagnostic(`ready after ${((Date.now() - ctx.t0) / 1000).toFixed(1)} s`);
      await startPlayers(ctx);
      ctx.playing = true;
    });

    it('killing encoder 1 switches to input 2 with a discontinuity', async (t) => {
      need('playing');
      await sleep(PLAY_BEFORE_KILL_B_MS);
      const s = await killAndSwitch(ctx, t);
      assert.equal(s.active_input, 2, brief(s));
      assert.equal(s.inputs[0].healthy, false, brief(s));
      assert.equal(s.switches.length, 2, brief(s));
      assert.equal(ctx.switch.discontinuity, true, `misaligned inputs switch with a discontinuity: ${brief(s)}`);
      const probeDir = join(dir, 'probe-misaligned');
      await mkdir(probeDir, { recursive: true });
      const { urls, probes, ranges } = await probePair(ctx.renditions[0], ctx.switch.from_sequence - 1, probeDir, 'v0');
      for (const [i, p] of probes.entries()) assert.equal(p.errors, '', `ffprobe errors for ${urls[i]}`);
      const jump = (ranges[1].video.first - ranges[0].video.end) / TS_HZ;
      t.diagnostic(`video timestamps jump by ${jump.toFixed(3)} s from ${urls[0]} to ${urls[1]}`);
      assert.ok(Math.abs(jump) > 1, `the inputs are misaligned at the switch (jump ${jump} s)`);
    });

    it('the output marks EXT-X-DISCONTINUITY at the switch, then counts it in DISCONTINUITY-SEQUENCE', async (t) => {
      const sw = need('switch');
      const n = sw.from_sequence;
      await waitFor(
        `segment ${n} to leave every rendition's window`,
        async () => {
          for (const url of ctx.renditions) {
            if ((await readMedia(url)).playlist.mediaSequence <= n) return false;
          }
          return true;
        },
        { timeoutMs: (WINDOW_S + 4 * SEGMENT_SECONDS) * 1000 + 10_000, intervalMs: 1000 },
      );
      await sleep(1500);
      await ctx.playlists.stop();
      t.diagnostic(`every fetched playlist: ${await savePlaylists(ctx)}`);
      const fetches = ctx.playlists.fetches;
      const violations = [...checkFetches(fetches, { aligned: false, source: 'poll' }), ...checkRounds(fetches)];
      for (const s of ctx.sessions) violations.push(...checkFetches(s.parsedPlaylists(), { aligned: false, source: s.player }));
      const all = [...fetches, ...ctx.sessions.flatMap((s) => s.parsedPlaylists())].filter((f) => f.playlist);
      let tagged = 0;
      let counted = 0;
      for (const f of all) {
        const pl = f.playlist;
        const disc = pl.segments.filter((s) => s.discontinuity).map((s) => s.sequence);
        const holds = pl.segments.some((s) => s.sequence === n);
        if (holds) {
          tagged++;
          if (disc.length !== 1 || disc[0] !== n) violations.push(`${f.url} @${new Date(f.wallMs).toISOString()}: EXT-X-DISCONTINUITY on ${disc}, expected exactly on ${n}`);
        } else if (disc.length > 0) {
          violations.push(`${f.url} @${new Date(f.wallMs).toISOString()}: EXT-X-DISCONTINUITY on ${disc} (only ${n} expected)`);
        }
        const expected = pl.mediaSequence > n ? 1 : 0;
        if (expected === 1) counted++;
        if (pl.discontinuitySequence !== expected) {
          violations.push(`${f.url} @${new Date(f.wallMs).toISOString()}: EXT-X-DISCONTINUITY-SEQUENCE ${pl.discontinuitySequence} at media sequence ${pl.mediaSequence}, expected ${expected}`);
        }
      }
      t.diagnostic('trace (segment URIs):');
      for (const line of sequenceTrace(fetches, ctx.t0)) t.diagnostic(line);
      t.diagnostic(`${all.length} playlists checked: ${tagged} list segment ${n} (tagged), ${counted} after it left (DISCONTINUITY-SEQUENCE 1)`);
      assert.ok(tagged > 0 && counted > 0, `saw the tag (${tagged}) and the count (${counted})`);
      noViolations(violations, 'playlist rule violations');
      checkRelay(ctx, t);
    });

    it('hls.js and Shaka recover across the discontinuity and keep playing', async (t) => {
      need('switch');
      const remaining = ctx.switchSeenMs + PLAY_AFTER_SWITCH_MS - Date.now();
      if (remaining > 0) await sleep(remaining);
      await judgePlayers(ctx, t, { sinceStates: ctx.playerAtKill });
      for (const s of ctx.sessions) await s.close();
      await ctx.statusWatch.stop();
      ctx.enc2.kill('SIGKILL');
      await ctx.enc2.done;
    });
  });

  /**
   * Scenarios C and D: aligned inputs, playlists polled (no players), encoder 1 killed at an
   * upload `moment` after a warm-up; the output must continue without a discontinuity, with
   * consecutive numbers and continuous timestamps in every rendition.
   */
  function alignedEdgeCase({ title, channel, delayMs = IN_SYNC_DELAY_MS, moment, relayInput1 = false, precondition = () => {} }) {
    scenario(title, () => {
      const { ctx, need } = sharedContext(isDefined);

      it('both encoders push the same source (playlists polled, no players)', async (t) => {
        ctx.channel = await createChannel(channel);
        await startInputs(ctx, { tsOffset2: 0, delayMs, relayInput1 });
        t.diagnostic(`ready after ${((Date.now() - ctx.t0) / 1000).toFixed(1)} s`);
        await sleep(WARM_UP_MS);
        ctx.ready = true;
      });

      it('killing encoder 1 switches the output to input 2 once, without a discontinuity', async (t) => {
        need('ready');
        const s = await killAndSwitch(ctx, t, { moment });
        const final = s.inputs[0].renditions.map((r) => [r.rendition, r.last_sequence]).sort();
        t.diagnostic(`input 1's last segment per rendition after the kill: ${JSON.stringify(final)}`);
        precondition(ctx, final);
        assert.equal(s.switches.length, 2, brief(s));
        assert.equal(ctx.switch.discontinuity, false, `aligned inputs switch without a discontinuity: ${brief(s)}`);
      });

      it('every rendition keeps consecutive numbers and continuous timestamps across the switch', async (t) => {
        const sw = need('switch');
        // Until the playlist watcher itself has seen two segments past the switch everywhere.
        await waitFor(`the polled playlists of every rendition to list segment ${sw.from_sequence + 2}`, async () => {
          for (const url of ctx.renditions) {
            const last = ctx.playlists.fetches.filter((f) => f.url === url && f.playlist && f.wallMs > ctx.switchSeenMs).at(-1);
            const uri = last?.playlist.segments.at(-1)?.uri;
            // `~{storage id}/{n}.ts`: the number is the file name's.
            const n = uri && Number.parseInt(uri.replace(/^~[A-Za-z0-9]+\//, ''), 10);
            if (!uri || !(n >= sw.from_sequence + 2)) return false;
          }
          return true;
        }, { timeoutMs: 20_000 });
        await ctx.playlists.stop();
        await ctx.statusWatch.stop();
        t.diagnostic(`every fetched playlist: ${await savePlaylists(ctx)}`);
        const fetches = ctx.playlists.fetches;
        const violations = [...checkFetches(fetches, { aligned: true, source: 'poll' }), ...checkRounds(fetches)];
        t.diagnostic(`kill at +${((ctx.killMs - ctx.t0) / 1000).toFixed(1)} s, switch from output ${sw.from_sequence}; trace (segment URIs):`);
        for (const line of sequenceTrace(fetches, ctx.t0)) t.diagnostic(line);
        ctx.enc2.kill('SIGKILL');
        await ctx.enc2.done;
        const failures = await checkContinuity(ctx, t, sw.from_sequence - 2, sw.from_sequence + 1, channel);
        noViolations(violations, 'playlist rule violations');
        noViolations(failures, 'segments either side of the switch');
        checkRelay(ctx, t);
      });
    });
  }

  // --- scenario C: the kill lands between renditions' uploads --------------------------------
  alignedEdgeCase({
    title: "C: encoder 1 dies between its renditions' uploads (aligned inputs)",
    channel: 'skewed',
    moment: 'between-renditions',
    relayInput1: true,
    precondition: (ctx, final) => {
      assert.ok(new Set(final.map(([, x]) => x)).size > 1, `precondition: input 1's renditions end at different segments (${JSON.stringify(final)})`);
    },
  });

  // --- scenario D: the backup delivers later than max_segment_duration allows ------------------
  alignedEdgeCase({
    title: `D: input 2 delivers ~${BACKUP_DELAY_MS / 1000} s after input 1, more than max_segment_duration (aligned timestamps)`,
    channel: 'lagging',
    moment: 'level',
    delayMs: BACKUP_DELAY_MS,
  });
});
