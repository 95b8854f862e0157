// Runs a media bench compiled to wasm32-wasip1 under Node's WASI (V8, the engine of Cloudflare
// Workers), from the repository root:
//
//   node shared/benches/media_wasm.mjs [media_remux|media_fmp4|media_cenc]   (default media_remux)
//
// Builds the bench first. A wasm program cannot start ffmpeg, so its input must exist already:
// run the native bench once (it generates the segment), or name another input by the variable
// below. The input's directory is the only one the program sees (a WASI preopen).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WASI } from 'node:wasi';

// Per bench: the variable naming its input, the default input, the directory to preopen.
const benches = {
  media_remux: {
    variable: 'EDGEPACK_BENCH_TS', input: '/tmp/edgepack-bench-1080p.ts', dir: dirname,
  },
  media_fmp4: {
    variable: 'EDGEPACK_BENCH_FMP4', input: '/tmp/edgepack-bench-fmp4', dir: (d) => d,
  },
  media_cenc: {
    variable: 'EDGEPACK_BENCH_TS', input: '/tmp/edgepack-bench-1080p.ts', dir: dirname,
  },
};
const bench = process.argv[2] || 'media_remux';
const spec = benches[bench];
if (!spec) {
  console.error(`unknown bench ${bench}: one of ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const input = process.env[spec.variable] || spec.input;
if (!existsSync(input)) {
  console.error(`${input} is missing: run \`cargo bench -p edgepack --bench ${bench}\` once, `
    + `or set ${spec.variable}`);
  process.exit(1);
}

const target = process.env.CARGO_TARGET_DIR || 'target';
execFileSync('cargo', ['bench', '-p', 'edgepack', '--bench', bench, '--no-run',
  '--target', 'wasm32-wasip1'], { stdio: 'inherit' });
const deps = join(target, 'wasm32-wasip1', 'release', 'deps');
const wasm = readdirSync(deps)
  .filter((f) => f.startsWith(`${bench}-`) && f.endsWith('.wasm'))
  .map((f) => join(deps, f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
const preopen = spec.dir(input);
const wasi = new WASI({
  version: 'preview1',
  args: [bench, '--bench'],
  env: { [spec.variable]: input },
  preopens: { [preopen]: preopen },
});
const module = await WebAssembly.compile(readFileSync(wasm));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.start(instance);
