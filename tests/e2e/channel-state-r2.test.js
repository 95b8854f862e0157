// The ingest and failover suites again with channel state in R2 (CHANNEL_STATE = "r2",
// docs/storage.md): every other Worker suite runs on the default "durable-object". The suites
// are nested here so their names show the layout they ran on.
import { describe } from 'node:test';

describe('channel state in R2 (CHANNEL_STATE = "r2")', async () => {
  process.env.EDGEPACK_CHANNEL_STATE = 'r2';
  await import('./foundation.test.js');
  await import('./failover.test.js');
});
