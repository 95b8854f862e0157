// The ingest suite and failover's races again with channel state in R2 (CHANNEL_STATE = "r2",
// docs/storage.md): every other Worker suite runs on the default "durable-object". Failover
// runs scenarios C and D, where the two inputs' state writes race (about 100 s less in CI);
// A and B, players across a switch, run on the default layout only. The suites are nested here so their names
// show the layout they ran on.
import { describe } from 'node:test';

describe('channel state in R2 (CHANNEL_STATE = "r2")', async () => {
  process.env.EDGEPACK_CHANNEL_STATE = 'r2';
  process.env.EDGEPACK_FAILOVER_SCENARIOS = 'CD';
  await import('./foundation.test.js');
  await import('./failover.test.js');
});
