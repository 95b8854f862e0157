// Builds the console into dist/ (committed: the Rust core embeds it, so a fresh clone's cargo
// build needs no Node). `--check` rebuilds into a temporary directory and fails when dist/
// differs (make lint); `--tests` bundles test/*.test.ts for node's test runner.
import { build } from "esbuild";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const here = import.meta.dirname;
const args = new Set(process.argv.slice(2));

/** The players, copied unchanged from their npm packages. */
const PLAYERS = {
  "hls.min.js": "node_modules/hls.js/dist/hls.min.js",
  "dash.mediaplayer.min.js": "node_modules/dashjs/dist/modern/umd/dash.mediaplayer.min.js",
  "mpegts.js": "node_modules/mpegts.js/dist/mpegts.js",
};

async function bundle(out) {
  await mkdir(join(out, "players"), { recursive: true });
  await build({
    entryPoints: [join(here, "src/main.ts")],
    outfile: join(out, "console.js"),
    bundle: true,
    minify: true,
    format: "iife",
    target: "es2022",
    legalComments: "none",
    logLevel: "warning",
  });
  await copyFile(join(here, "src/index.html"), join(out, "index.html"));
  await copyFile(join(here, "src/console.css"), join(out, "console.css"));
  for (const [name, from] of Object.entries(PLAYERS)) {
    await copyFile(join(here, from), join(out, "players", name));
  }
}

async function files(dir, prefix = "") {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) out.push(...(await files(join(dir, e.name), `${rel}/`)));
    else out.push(rel);
  }
  return out.sort();
}

if (args.has("--tests")) {
  const tests = (await readdir(join(here, "test"))).filter((f) => f.endsWith(".test.ts"));
  await rm(join(here, "build/test"), { recursive: true, force: true });
  await build({
    entryPoints: tests.map((t) => join(here, "test", t)),
    outdir: join(here, "build/test"),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
  });
} else if (args.has("--check")) {
  const tmp = await mkdtemp(join(tmpdir(), "console-"));
  try {
    await bundle(tmp);
    const dist = join(here, "dist");
    const [want, have] = [await files(tmp), await files(dist).catch(() => [])];
    const stale = want.filter((f) => !have.includes(f)).concat(have.filter((f) => !want.includes(f)));
    for (const f of want.filter((f) => have.includes(f))) {
      const [a, b] = [await readFile(join(tmp, f)), await readFile(join(dist, f))];
      if (!a.equals(b)) stale.push(f);
    }
    if (stale.length > 0) {
      console.error(`functions/console/dist is out of date (${stale.join(", ")}): run make console`);
      process.exitCode = 1;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
} else {
  await rm(join(here, "dist"), { recursive: true, force: true });
  await bundle(join(here, "dist"));
}
