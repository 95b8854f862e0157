// Stalls from a player's currentTime samples (lib/first-arrival-player.js), robust to a late
// sampler: what counts is how far currentTime fell behind wall time, not how long the page's
// timer took to fire.
//
// For consecutive samples a, b (wall ms w, currentTime c, playbackRate r) the *deficit* of the
// interval is (w_b - w_a) - (c_b - c_a) * 1000 / r_a: wall time in which the media did not
// advance. A timer that fires 300 ms late while the video plays gives a deficit near 0; a
// video frozen for 80 ms inside one 50 ms... 130 ms interval gives 80. A *stall* is a maximal
// run of intervals whose deficit exceeds DEFICIT_MS (and a quarter of the interval, so a
// slow-down to 0.95x for catch-up is not one); its length is the sum of the run's deficits.
// currentTime jumping forward (a seek to the live edge) or back is reported as a seek, not a
// stall. Paused samples count as not advancing: the page never pauses the video.

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
