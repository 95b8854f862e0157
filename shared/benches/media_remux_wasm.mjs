// Runs the media_remux bench compiled to wasm32-wasip1 under Node's WASI (V8, the engine of
// Cloudflare Workers): `node shared/benches/media_remux_wasm.mjs` from the repository root.
// Builds the bench first; the 1080p segment must exist (run the native bench once) or be
// named by EDGEPACK_BENCH_TS.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WASI } from 'node:wasi';

const target = process.env.CARGO_TARGET_DIR || 'target';
execFileSync('cargo', ['bench', '-p', 'edgepack', '--bench', 'media_remux', '--no-run',
  '--target', 'wasm32-wasip1'], { stdio: 'inherit' });
const deps = join(target, 'wasm32-wasip1', 'release', 'deps');
const wasm = readdirSync(deps)
  .filter((f) => f.startsWith('media_remux-') && f.endsWith('.wasm'))
  .map((f) => join(deps, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
const segment = process.env.EDGEPACK_BENCH_TS || '/tmp/edgepack-bench-1080p.ts';
const wasi = new WASI({
  version: 'preview1',
  args: ['media_remux', '--bench'],
  env: { EDGEPACK_BENCH_TS: segment },
  preopens: { [dirname(segment)]: dirname(segment) },
});
const module = await WebAssembly.compile(readFileSync(wasm));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
