"""Runs a media bench (media_remux, media_fmp4 or media_cenc) compiled to wasm32-wasip1 under wasmtime (the
engine of Spin), through the `wasmtime` package from PyPI (it ships the wasmtime runtime):

    python3 -m venv /tmp/wt && /tmp/wt/bin/pip install wasmtime
    cargo bench -p edgepack --bench media_fmp4 --no-run --target wasm32-wasip1
    /tmp/wt/bin/python shared/benches/media_wasmtime.py media_fmp4 [path/to/media_fmp4-*.wasm]

Without a bench name it runs media_remux.

The input must exist (run the native bench once) or be named by the variable in BENCHES; its
directory is the only one the program sees (a WASI preopen).
"""

import glob
import os
import sys

import wasmtime

# Per bench: the variable naming its input, the default input, whether that input is a directory.
BENCHES = {
    "media_remux": ("EDGEPACK_BENCH_TS", "/tmp/edgepack-bench-1080p.ts", False),
    "media_fmp4": ("EDGEPACK_BENCH_FMP4", "/tmp/edgepack-bench-fmp4", True),
    "media_cenc": ("EDGEPACK_BENCH_TS", "/tmp/edgepack-bench-1080p.ts", False),
}

bench = sys.argv[1] if len(sys.argv) > 1 else "media_remux"
if bench not in BENCHES:
    sys.exit(f"unknown bench {bench}: one of {', '.join(BENCHES)}")
variable, default, is_dir = BENCHES[bench]
target = os.environ.get("CARGO_TARGET_DIR", "target")
if len(sys.argv) > 2:
    module_path = sys.argv[2]
else:
    candidates = glob.glob(os.path.join(target, f"wasm32-wasip1/release/deps/{bench}-*.wasm"))
    module_path = max(candidates, key=os.path.getmtime)
path = os.environ.get(variable, default)
preopen = path if is_dir else os.path.dirname(path)

config = wasmtime.Config()
config.cranelift_opt_level = "speed"
engine = wasmtime.Engine(config)
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
wasi = wasmtime.WasiConfig()
wasi.argv = [bench, "--bench"]
wasi.env = [(variable, path)]
wasi.preopen_dir(preopen, preopen)
wasi.inherit_stdout()
wasi.inherit_stderr()
store.set_wasi(wasi)
module = wasmtime.Module.from_file(engine, module_path)
instance = linker.instantiate(store, module)
instance.exports(store)["_start"](store)
