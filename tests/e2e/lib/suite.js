// The hooks of a suite built around one origin (foundation, packaging, access, spin): a run
// directory, the origin and real players started before the first test, and everything the
// tests started stopped after the last, by handle.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startOrigin } from './origin.js';
import { startPlayers } from './players.js';
import { tempDir } from './paths.js';

/**
 * Registers `before` and `after` for a suite (call it inside `describe`; `tests` is the file's
 * trackedTests()). `before` makes the run directory `name`, starts the origin with
 * `start({ dir: <run>/<originDir> })` (the Worker by default) and the players with `players()`
 * (lib/players.js by default). `after` runs `stop(ctx)` (anything else the suite started),
 * stops what the tests left in `ctx` (`monitor`, `encoder`), the players and the origin, and
 * removes the run directory unless something failed.
 *
 * Returns the suite { ctx, need, dir, origin, players }: `dir`, `origin` and `players` are set
 * by `before`; a test that restarts the origin puts the new one in `suite.origin`. `ctx` holds
 * what one test sets up for later ones; `need(key)` fails when an earlier test did not.
 */
export function originSuite(tests, name, { start = startOrigin, originDir = 'origin', players = startPlayers, stop } = {}) {
  const suite = { ...sharedContext(), dir: null, origin: null, players: null };

  tests.before(async () => {
    suite.dir = await tempDir(name);
    suite.origin = await start({ dir: join(suite.dir, originDir) });
    suite.players = await players();
  });

  after(async () => {
    const { ctx } = suite;
    await stop?.(ctx);
    await ctx.monitor?.stop();
    ctx.encoder?.stop();
    await ctx.encoder?.done.catch(() => {});
    await suite.players?.close();
    await suite.origin?.dispose();
    await tests.cleanup(suite.dir);
  });

  return suite;
}

/**
 * What one test sets up for later ones: { ctx, need }. `need(key)` returns `ctx[key]`, or fails
 * naming `key` when no earlier test set it (`isSet` decides; by default a truthy value).
 */
export function sharedContext(isSet = Boolean) {
  const ctx = {};
  const need = (key) => {
    assert.ok(isSet(ctx[key]), `precondition failed: ${key} was not set up by an earlier test`);
    return ctx[key];
  };
  return { ctx, need };
}
