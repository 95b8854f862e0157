// The ingest and failover suites again with channel state in a Durable Object per channel
// (CHANNEL_STATE = "durable-object", docs/storage.md): the other Worker suites run on the
// default "r2". The suites are nested here so their names show the layout they ran on.
import { describe } from 'node:test';

describe('channel state in a Durable Object (CHANNEL_STATE = "durable-object")', async () => {
  process.env.EDGEPACK_CHANNEL_STATE = 'durable-object';
  await import('./foundation.test.js');
  await import('./failover.test.js');
});
