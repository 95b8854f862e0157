"""Runs the media_remux bench compiled to wasm32-wasip1 under wasmtime (the engine of Spin),
through the `wasmtime` package from PyPI (it ships the wasmtime runtime):

    python3 -m venv /tmp/wt && /tmp/wt/bin/pip install wasmtime
    cargo bench -p edgepack --bench media_remux --no-run --target wasm32-wasip1
    /tmp/wt/bin/python shared/benches/media_remux_wasmtime.py [path/to/media_remux-*.wasm]

The 1080p segment must exist (run the native bench once) or be named by EDGEPACK_BENCH_TS.
"""

import glob
import os
import sys

import wasmtime

target = os.environ.get("CARGO_TARGET_DIR", "target")
if len(sys.argv) > 1:
    module_path = sys.argv[1]
else:
    candidates = glob.glob(os.path.join(target, "wasm32-wasip1/release/deps/media_remux-*.wasm"))
    module_path = max(candidates, key=os.path.getmtime)
segment = os.environ.get("EDGEPACK_BENCH_TS", "/tmp/edgepack-bench-1080p.ts")

config = wasmtime.Config()
config.cranelift_opt_level = "speed"
engine = wasmtime.Engine(config)
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.argv = ["media_remux", "--bench"]
wasi.env = [("EDGEPACK_BENCH_TS", segment)]
wasi.preopen_dir(os.path.dirname(segment), os.path.dirname(segment))
wasi.inherit_stdout()
wasi.inherit_stderr()
store.set_wasi(wasi)
module = wasmtime.Module.from_file(engine, module_path)
instance = linker.instantiate(store, module)
instance.exports(store)["_start"](store)
