// Acceptance test of issue 14 (first-arrival failover) on the real runtime: the built Worker in
// workerd (Miniflare), two ffmpeg pushes of one recorded source with identical timestamps to a
// channel with the default settings (max_segment_duration 15 s), hls.js (HLS, TS), Shaka
// (HLS-CMAF) and dash.js (DASH) at their default live settings in Chromium. Either encoder is
// SIGKILLed at a random moment ten times in a row, each time restarted aligned; every player's
// longest stall must stay under 100 ms, every playlist keep its numbering without a
// discontinuity, and every URL its bytes. The scenario is lib/first-arrival-suite.js;
// spin/first-arrival.soak.js runs a shorter one on the Spin host.
import { startOrigin } from './lib/origin.js';
import { firstArrivalSuite } from './lib/first-arrival-suite.js';

firstArrivalSuite({
  title: 'first arrival on the Worker: either encoder killed ten times, players never stall',
  name: 'first-arrival',
  start: startOrigin,
  kills: 10,
  players: ['hls.js', 'shaka', 'dash.js'],
  longOutage: true,
  sourceSeconds: 300,
  timeoutMs: 480_000,
});
