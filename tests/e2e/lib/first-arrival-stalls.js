// Stalls from a player's currentTime samples (lib/first-arrival-player.js), robust to a late
// sampler: what counts is how far currentTime fell behind wall time, not how long the page's
// timer took to fire.
//
// For consecutive samples a, b (wall ms w, currentTime c, playbackRate r) the *deficit* of the
// interval is (w_b - w_a) - (c_b - c_a) * 1000 / r_a: wall time in which the media did not
// advance. A timer that fires 300 ms late while the video plays gives a deficit near 0; a
// video frozen for 80 ms inside one 130 ms interval gives 80. A *stall* is a maximal
// run of intervals whose deficit exceeds DEFICIT_MS (and a quarter of the interval, so a
// slow-down to 0.95x for catch-up is not one); its length is the sum of the run's deficits.
// currentTime jumping forward (a seek to the live edge) or back is reported as a seek, not a
// stall. Paused samples count as not advancing: the page never pauses the video.

import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** An interval's deficit above this (ms) belongs to a stall. */
export const DEFICIT_MS = 10;

/** samples: [[wallMs, currentTime, paused, readyState, rate], ...] -> { stalls, seeks, intervals } */
export function stallsOf(samples, { fromMs = -Infinity, toMs = Infinity } = {}) {
  const stalls = [];
  const seeks = [];
  let run = null;
  let intervals = 0;
  const close = () => {
    if (run) stalls.push({ fromMs: Math.round(run.fromMs), toMs: Math.round(run.toMs), ms: Math.round(run.ms), currentTime: run.currentTime });
    run = null;
  };
  for (let i = 1; i < samples.length; i++) {
    const [wa, ca, , , ra] = samples[i - 1];
    const [wb, cb] = samples[i];
    if (wa < fromMs || wb > toMs) continue;
    intervals++;
    const dw = wb - wa;
    const dm = ((cb - ca) * 1000) / (ra > 0 ? ra : 1);
    if (cb < ca || dm > dw + 500) {
      seeks.push({ wallMs: Math.round(wb), from: ca, to: cb });
      close();
      continue;
    }
    const deficit = dw - dm;
    if (deficit > DEFICIT_MS && deficit > dw / 4) {
      run ??= { fromMs: wa, toMs: wb, ms: 0, currentTime: ca };
      run.ms += deficit;
      run.toMs = wb;
    } else {
      close();
    }
  }
  close();
  return { stalls, seeks, intervals };
}

/** min / median / max of numbers (null when empty). */
export function distribution(values) {
  if (values.length === 0) return { n: 0, min: null, median: null, max: null };
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { n: v.length, min: v[0], median, max: v.at(-1) };
}

/** "n=3 min 12 / median 20 / max 41 ms", or "none". */
export function describeDistribution(d, unit = 'ms') {
  return d.n === 0 ? 'none' : `n=${d.n} min ${d.min} / median ${d.median} / max ${d.max} ${unit}`;
}

/**
 * What the machine was doing: every second the CPU time of all cores (/proc/stat: busy
 * fraction of the last second, and steal) and the 1-minute load average; every 100 ms how late
 * this process's own timer fired (event-loop lag, a sign that the cores were taken). A stall
 * that every player shows at the same wall time, while each plays other media (they sit at
 * different distances from the live edge, with full buffers), is the machine's, not the
 * origin's: the origin can only make a player with 20 s of buffer stall through what the
 * media holds. Returns { seconds, lags, stop, at(ms) }.
 */
export function machineMonitor() {
  const seconds = [];
  const lags = [];
  let prev = null;
  const cpu = () => {
    try {
      const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = line[3] + (line[4] ?? 0);
      const total = line.reduce((a, b) => a + b, 0);
      return { idle, total, steal: line[7] ?? 0 };
    } catch {
      return null;
    }
  };
  const tick = setInterval(() => {
    const now = cpu();
    if (now && prev && now.total > prev.total) {
      const d = now.total - prev.total;
      seconds.push({ wallMs: Date.now(), busy: Math.round((100 * (d - (now.idle - prev.idle))) / d), steal: Math.round((100 * (now.steal - prev.steal)) / d), load1: loadavg()[0] });
    }
    prev = now;
  }, 1000);
  let expected = Date.now() + 100;
  const lagTimer = setInterval(() => {
    const now = Date.now();
    if (now - expected > 50) lags.push({ wallMs: now, lagMs: now - expected });
    expected = now + 100;
  }, 100);
  return {
    seconds,
    lags,
    stop() {
      clearInterval(tick);
      clearInterval(lagTimer);
    },
    /** The machine around wall time `ms` (+-1.5 s): busiest second, load, worst event-loop lag. */
    at(fromMs, toMs = fromMs) {
      const near = seconds.filter((s) => s.wallMs >= fromMs - 1500 && s.wallMs <= toMs + 1500);
      const lag = lags.filter((l) => l.wallMs >= fromMs - 1500 && l.wallMs <= toMs + 1500);
      return {
        cpuBusyPct: near.length ? Math.max(...near.map((s) => s.busy)) : null,
        load1: near.length ? near.at(-1).load1 : null,
        nodeLagMs: lag.length ? Math.max(...lag.map((l) => l.lagMs)) : 0,
      };
    },
    /** Mean CPU busy % and load between two wall times. */
    mean(fromMs, toMs) {
      const s = seconds.filter((x) => x.wallMs >= fromMs && x.wallMs <= toMs);
      if (s.length === 0) return { cpuBusyPct: null, load1: null };
      return { cpuBusyPct: Math.round(s.reduce((a, x) => a + x.busy, 0) / s.length), load1: Math.round((100 * s.reduce((a, x) => a + x.load1, 0)) / s.length) / 100 };
    },
  };
}

/**
 * For each stall of `player` (from stallsOf), the other players' stalls that overlap it in wall
 * time (within `slackMs`), and the page's own sampler lateness inside it.
 */
export function classify(stall, others, samples, slackMs = 150) {
  const shared = others.filter((o) => o.stalls.some((x) => x.fromMs <= stall.toMs + slackMs && x.toMs >= stall.fromMs - slackMs)).map((o) => o.player);
  let late = 0;
  for (let i = 1; i < samples.length; i++) {
    const [wa] = samples[i - 1];
    const [wb] = samples[i];
    if (wb >= stall.fromMs && wa <= stall.toMs) late = Math.max(late, Math.round(wb - wa));
  }
  return { shared, samplerIntervalMs: late };
}
