// Issue 14's first-arrival scenario (lib/first-arrival-suite.js) on the Spin component in the
// local wasmtime host, shorter than the Worker's: three kills of either encoder, hls.js alone.
// Claims there are the host's atomic create-if-absent on its SQLite key-value store.
import { startSpinOrigin } from '../lib/spin-host.js';
import { firstArrivalSuite } from '../lib/first-arrival-suite.js';

firstArrivalSuite({
  title: 'first arrival on the Spin host: either encoder killed three times, hls.js never stalls',
  name: 'first-arrival-spin',
  start: startSpinOrigin,
  kills: 3,
  players: ['hls.js'],
  longOutage: false,
  sourceSeconds: 180,
  timeoutMs: 360_000,
});
