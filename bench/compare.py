#!/usr/bin/python3
"""libclip against PyTorch and ONNX Runtime on the same weights, from one command.

    python3 bench/compare.py --model DIR [--out /tmp/lclip-compare] [--build /tmp/build-bench] [--other-build DIR]
                             [--blas-threading] [--engines cblas,onednn] [--precisions f32,bf16]
    python3 bench/compare.py --tables RESULTS.jsonl...    # tables again; several runs: best of them
                                                          # (lclip-bench's own output too)

DIR is an HF-layout CLIP directory, or an open_clip one with a ResNet image tower (RN50, ...;
bench/make_model.py writes random-weight ones of both). Steps:

1. lclip-bench --emit-inputs: the benchmark's pixels and token ids and libclip's raw embeddings.
2. The same model.safetensors loaded into bench/torch_clip.py (openai/CLIP's architecture);
   every embedding must agree with libclip's (cosine > 0.9999), or nothing is timed.
3. ONNX export of that module (image and text graphs, dynamic batch; text also dynamic length),
   checked the same way through onnxruntime-node (bench/ort_bench.mjs).
4. Timings, each implementation in its own process, rows image b1/b8/b32, captions b1/b32 and
   77-token texts b1/b32, on 1 and 2 threads; medians of repeated runs:
   libclip (lclip-bench, with its cblas_sgemm reference), PyTorch, ONNX Runtime. With
   --blas-threading, lclip-bench also times libclip on the BLAS's threads (n_threads = 0)
   in turn with its own, and a last table compares the two.
5. The same for libclip and PyTorch with the other OpenBLAS setting: OPENBLAS_CORETYPE and
   OPENBLAS_L2_SIZE unset when the environment sets them, else OPENBLAS_CORETYPE=--alt-coretype
   (OpenBLAS 0.3.21 does not know every new CPU and then falls back to its Prescott kernels).
   ONNX Runtime does not use OpenBLAS and is timed once.
5b. With --other-build DIR: libclip again from a build against another CBLAS
   (cmake -DLIBCLIP_BLAS=BLIS ...), checked against the default build's embeddings, then timed.
6. Peak RSS of image-only and text-only libclip processes (fresh processes, no sgemm reference).

--engines and --precisions (lclip_options.engine / precision; lclip-bench --engine / --precision)
run steps 4 to 6 for libclip once per combination (cblas with bf16 is skipped: BF16 runs on
oneDNN only), each its own rows and table, labelled "ENGINE-PRECISION" (variant "onednn-bf16";
"alt/onednn-bf16" with the other OpenBLAS setting); PyTorch and ONNX Runtime are timed once per
setting as before. Every combination's embeddings are checked against PyTorch's float32 ones
first: cosine > 0.9999 for f32, >= 0.999 for bf16 (MIN_COSINE_BF16; 0.98 for a random-weight ResNet's
images, MIN_COSINE_BF16_RESNET_IMAGE), the worst cosine of each is
printed. The sgemm reference runs only with the cblas engine (it times cblas_sgemm, the cblas
engine's kernel). Without these options libclip runs once with lclip-bench's defaults
(engine AUTO, f32), variant "default", as before.

Prints a table (ratios are libclip time / other time: below 1 means libclip is faster) and
writes every JSON line to OUT/results.jsonl, the input of bench/plot.py.
PyTorch is Debian's python3-torch; this script re-runs itself under /usr/bin/python3 when the
python3 on PATH cannot import torch.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"

try:
    import numpy as np
    import torch
except ImportError:
    if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit("compare.py needs Debian's python3-torch and python3-numpy (apt-get install python3-torch)")

sys.path.insert(0, str(HERE))
import torch_clip  # noqa: E402

Row = dict[str, Any]
MIN_COSINE = 0.9999
# BF16 rounds the weights and every product's inputs to 8 significant bits (float32 accumulation):
# each embedding must still be within cosine 0.999 of PyTorch's float32 one (>=, every row).
MIN_COSINE_BF16 = 0.999
# ... except a random-weight ResNet's images: 16 blocks of random convolutions amplify rounding far
# more than trained weights do. RN50 (bench/make_model.py) in BF16 against float32 on the fixtures'
# 12 photos: 0.9884 at worst with oneDNN's matmuls over unfolded rows, 0.9897 with its convolutions.
MIN_COSINE_BF16_RESNET_IMAGE = 0.98


def log(msg: str) -> None:
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def json_lines(text: str) -> list[Row]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def run_json(cmd: list[str], env: dict[str, str] | None = None) -> list[Row]:
    log(" ".join(cmd))
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return json_lines(proc.stdout)


# ---- agreement -------------------------------------------------------------------------------


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def load_f32(path: Path, dim: int) -> np.ndarray:
    return np.fromfile(path, dtype="<f4").reshape(-1, dim)


def tokens_of(inputs: Path, kind: str, ctx: int) -> np.ndarray:
    return np.fromfile(inputs / f"{kind}.i32", dtype="<i4").reshape(-1, ctx)


def cut(tokens: np.ndarray) -> torch.Tensor:
    """A batch of token rows cut after the longest text's end token (its largest id)."""
    longest = int(tokens.argmax(axis=1).max()) + 1
    return torch.from_numpy(tokens[:, :longest].astype(np.int64))


def check_agreement(who: str, got: dict[str, np.ndarray], inputs: Path, dim: int,
                    ref: dict[str, np.ndarray] | None = None, bf16: bool = False,
                    against: str = "libclip", resnet: bool = False) -> dict[str, float]:
    """Worst cosine per kind of `got` against libclip's embeddings in `inputs` (or against `ref`, named
    `against`); exits unless every row's cosine is > MIN_COSINE (>= MIN_COSINE_BF16 with bf16, or
    MIN_COSINE_BF16_RESNET_IMAGE for a ResNet's images)."""
    worst = {}
    for kind, emb in got.items():
        expected = ref[kind] if ref is not None else load_f32(inputs / f"{kind}_embeds.f32", dim)
        worst[kind] = float(cosines(emb, expected).min())
        bf16_min = MIN_COSINE_BF16_RESNET_IMAGE if resnet and kind == "image" else MIN_COSINE_BF16
        ok = worst[kind] >= bf16_min if bf16 else worst[kind] > MIN_COSINE
        if not ok:
            sys.exit(f"{who} disagrees with {against} on {kind}: min cosine {worst[kind]:.8f}, needs "
                     f"{'>= ' + str(bf16_min) if bf16 else '> ' + str(MIN_COSINE)}; "
                     "timings of different computations are worthless")
    log(f"{who} agrees with {against}: min cosine " + ", ".join(f"{k} {v:.8f}" for k, v in worst.items()))
    return worst


def torch_embeddings(vision: torch.nn.Module, text: torch.nn.Module, inputs: Path, meta: dict) -> dict[str, np.ndarray]:
    size, ctx = meta["image_size"], meta["context_length"]
    pixels = np.fromfile(inputs / "image_pixels.f32", dtype="<f4").reshape(-1, 3, size, size)
    out: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        out["image"] = vision(torch.from_numpy(pixels.copy())).numpy()
        for kind in ("captions", "text77"):
            toks = tokens_of(inputs, kind, ctx)
            out[kind] = np.concatenate([text(cut(toks[i:i + 32])).numpy() for i in range(0, len(toks), 32)])
    return out


def export_onnx(vision: torch.nn.Module, text: torch.nn.Module, meta: dict, out: Path) -> tuple[Path, Path]:
    size = meta["image_size"]
    image_path, text_path = out / "image.onnx", out / "text.onnx"
    with torch.no_grad():
        torch.onnx.export(vision, (torch.zeros(2, 3, size, size),), str(image_path), input_names=["pixels"],
                          output_names=["embeds"], dynamic_axes={"pixels": {0: "batch"}, "embeds": {0: "batch"}},
                          opset_version=14, do_constant_folding=True)
        dummy = torch.tensor([[49406, 320, 1929, 49407, 0], [49406, 320, 49407, 0, 0]], dtype=torch.int64)
        torch.onnx.export(text, (dummy,), str(text_path), input_names=["tokens"], output_names=["embeds"],
                          dynamic_axes={"tokens": {0: "batch", 1: "length"}, "embeds": {0: "batch"}},
                          opset_version=14, do_constant_folding=True)
    return image_path, text_path


# ---- PyTorch timing (a worker process per thread count) --------------------------------------


def torch_worker(spec_path: Path) -> None:
    spec = json.loads(spec_path.read_text())
    threads = spec["threads"]
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    vision, text = torch_clip.load(Path(spec["model"]))
    inputs, ctx, size = Path(spec["inputs"]), spec["context"], spec["image_size"]
    gen = torch.Generator().manual_seed(0)
    max_batch = max([r["batch"] for r in spec["rows"] if r["kind"] == "image"] or [1])
    pixels = torch.rand(max_batch, 3, size, size, generator=gen) * 3.9 - 1.8
    for r in spec["rows"]:
        if r["kind"] == "image":
            calls = [(vision, pixels[:r["batch"]].contiguous())]
        else:
            toks = tokens_of(inputs, r["kind"], ctx)[:r["items"]]
            calls = [(text, cut(toks[i:i + r["batch"]])) for i in range(0, r["items"], r["batch"])]
        with torch.inference_mode():
            def once() -> None:
                for module, x in calls:
                    module(x)
            once()  # warm-up
            reps: list[float] = []
            start = time.perf_counter()
            while len(reps) < spec["max_reps"] and (len(reps) < spec["min_reps"]
                                                    or time.perf_counter() - start < spec["min_time"]):
                t0 = time.perf_counter()
                once()
                reps.append(time.perf_counter() - t0)
        med = float(np.median(reps))
        print(json.dumps({"type": "row", "impl": "torch", "row": r["row"], "batch": r["batch"], "threads": threads,
                          "items": r["items"], "reps": len(reps), "ms_per_item": 1e3 * med / r["items"],
                          "ms_per_item_min": 1e3 * min(reps) / r["items"], "items_per_s": r["items"] / med,
                          "rep_ms": [round(1e3 * x, 3) for x in reps]}), flush=True)
    print(json.dumps({"type": "rss", "impl": "torch", "threads": threads, "torch": torch.__version__,
                      "peak_rss_mib": peak_rss_mib()}), flush=True)


def peak_rss_mib() -> float:
    """VmHWM (ru_maxrss survives exec on Linux, so it would show the parent's peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_torch(model: Path, inputs: Path, meta: dict, rows: list[Row], threads: Iterable[int], reps: dict,
               work: Path, env: dict[str, str]) -> list[Row]:
    out: list[Row] = []
    for t in threads:
        spec = {"model": str(model), "inputs": str(inputs), "context": meta["context_length"],
                "image_size": meta["image_size"], "threads": t, "rows": rows, **reps}
        path = work / f"torch_spec_{t}.json"
        path.write_text(json.dumps(spec))
        # PyTorch's matrix products go to OpenBLAS (Debian's build): its pool must match too. Without
        # OMP_WAIT_POLICY=PASSIVE, PyTorch's spinning OpenMP workers and OpenBLAS's threads fight
        # over the cores and 2 threads run ~3x slower than 1 (measured here).
        wenv = {**env, "OMP_NUM_THREADS": str(t), "OPENBLAS_NUM_THREADS": str(t), "OMP_WAIT_POLICY": "PASSIVE"}
        out += run_json([SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable, str(Path(__file__)),
                         "--torch-worker", str(path)], wenv)
    return out


# ---- table --------------------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def best(records: list[Row], field: str) -> Row | None:
    """The record with the smallest `field`: across several runs of one row, the least disturbed."""
    return min(records, key=lambda r: r[field], default=None)


def table(results: list[Row], variant: str, title: str, torch_variant: str | None = None) -> str:
    """libclip's rows of `variant` against PyTorch's of `torch_variant` (default: the same) and ONNX Runtime.
    `results` may pool several runs: each cell then takes the best of them."""
    rows = [r for r in results if r.get("type") == "row"]
    group: dict[tuple, list[Row]] = {}
    for r in rows:
        if (r["impl"] == "libclip" and r.get("variant") == variant) or r["impl"] == "ort" or (
                r["impl"] == "torch" and r.get("variant") == (torch_variant or variant)):
            group.setdefault((r["impl"], r["row"], r["threads"]), []).append(r)
    # Best reps: on a shared machine noise only ever adds time, in slow phases of seconds that a
    # median over a row's 2 s can land in; medians stay in the JSON and in the last two columns.
    lines = [title, "",
             "| row | threads | libclip ms/item | PyTorch ms/item | ORT ms/item | libclip/PyTorch | libclip/ORT "
             "| libclip GF/s | sgemm fraction | medians: libclip/PyTorch | libclip/ORT |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (impl, row, threads), runs in group.items():
        if impl != "libclip":
            continue
        lib, pt, ox = (best(group.get((i, row, threads), []), "ms_per_item_min") for i in ("libclip", "torch", "ort"))
        lib_med, pt_med, ox_med = (best(group.get((i, row, threads), []), "ms_per_item")
                                   for i in ("libclip", "torch", "ort"))
        fractions = sorted(r["sgemm_fraction"] for r in runs if "sgemm_fraction" in r)
        fraction = "-" if not fractions else fmt(fractions[0]) if len(fractions) == 1 else \
            f"{fmt(fractions[0])}-{fmt(fractions[-1])}"
        t = lib["ms_per_item_min"]
        lines.append(
            f"| {row} | {threads} | {fmt(t)} | {fmt(pt and pt['ms_per_item_min'])} | "
            f"{fmt(ox and ox['ms_per_item_min'])} | {fmt(pt and t / pt['ms_per_item_min'])} | "
            f"{fmt(ox and t / ox['ms_per_item_min'])} | {fmt(lib['gflop_per_item'] * 1e3 / t, 1)} | {fraction} | "
            f"{fmt(pt_med and lib_med['ms_per_item'] / pt_med['ms_per_item'])} | "
            f"{fmt(ox_med and lib_med['ms_per_item'] / ox_med['ms_per_item'])} |")
    return "\n".join(lines)


def threading_table(results: list[Row], variant: str) -> str:
    """libclip's own threads (n_threads = N) against the BLAS's (n_threads = 0, the BLAS on N threads): the
    two run alternately, rep by rep, in one lclip-bench process (--blas-threading)."""
    rows = {(r["row"], r["threads"], r["impl"]): r for r in results
            if r.get("type") == "row" and r.get("variant") == variant
            and r["impl"] in ("libclip", "libclip-blas-threads")}
    lines = ["| row | threads | own threads ms/item | BLAS threads ms/item | own / BLAS | medians: own / BLAS |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for (row, threads, impl), own in rows.items():
        blas = rows.get((row, threads, "libclip-blas-threads"))
        if impl != "libclip" or not blas:
            continue
        lines.append(f"| {row} | {threads} | {fmt(own['ms_per_item_min'])} | {fmt(blas['ms_per_item_min'])} | "
                     f"{fmt(own['ms_per_item_min'] / blas['ms_per_item_min'])} | "
                     f"{fmt(own['ms_per_item'] / blas['ms_per_item'])} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def engine_label(results: list[Row], variant: str) -> str:
    """What variant's libclip ran on, from its rows' lclip_*_encoder_describe() (thread count dropped)."""
    seen = {}
    for r in results:
        if r.get("type") == "row" and r.get("variant") == variant and r["impl"] == "libclip" and r.get("describe"):
            seen.setdefault(r["tower"], re.sub(r" threads=\d+", "", r["describe"]))
    return "; ".join(f"{tower}: {d}" for tower, d in seen.items())


def fp32_peak(results: list[Row]) -> dict[int, tuple[str, float]]:
    """Per thread count, the best f32 FMA loop's GF/s (AVX-512 where the CPU has it) over every --fma-peak record."""
    peak: dict[int, tuple[str, float]] = {}
    for r in results:
        if r.get("type") == "peak" and r["kernel"].endswith("_f32"):
            if r["gflops"] > peak.get(r["threads"], ("", 0.0))[1]:
                peak[r["threads"]] = (r["kernel"], r["gflops"])
    return peak


def peak_table(results: list[Row], variants: list[str]) -> str:
    """Each variant's best-rep GF/s on each row as a percentage of the f32 FMA peak on as many threads
    (bf16 variants too: the f32 peak is the yardstick of the f32 targets; AVX512-BF16's is listed beside)."""
    peak = fp32_peak(results)
    if not peak:
        return ""
    bf16 = {r["threads"]: r["gflops"] for r in results if r.get("type") == "peak" and r["kernel"] == "avx512_bf16_dot"}
    lines = ["FMA peak (best of the runs' --fma-peak loops): " + "; ".join(
        f"{t} thread(s) {k} {g:.0f} GF/s" + (f", avx512_bf16_dot {bf16[t]:.0f} GF/s" if t in bf16 else "")
        for t, (k, g) in sorted(peak.items())), "",
        "| row | threads | " + " | ".join(f"{v} GF/s | {v} % of f32 peak" for v in variants) + " | ORT GF/s | ORT % |",
        "| --- | ---: |" + " ---: |" * (2 * len(variants) + 2)]
    best: dict[tuple, float] = {}
    flop: dict[str, float] = {}
    for r in results:
        if r.get("type") == "row" and r["impl"] in ("libclip", "ort"):
            key = (r["impl"] if r["impl"] == "ort" else r.get("variant"), r["row"], r["threads"])
            best[key] = max(best.get(key, 0.0), 1e3 / r["ms_per_item_min"])
            if r["impl"] == "libclip" and r["row"].startswith("image"):
                flop[r["row"]] = r["gflop_per_item"]
    keys = dict.fromkeys((r["row"], r["threads"]) for r in results if r.get("type") == "row"
                         and r["impl"] == "libclip" and r["row"] in flop and r.get("variant") in variants)
    for row, threads in keys:
        p = peak.get(threads, ("", 0.0))[1]
        cells = []
        for who in [*variants, "ort"]:
            ips = best.get((who, row, threads))
            gf = ips * flop[row] if ips else None
            cells += [fmt(gf, 1), fmt(gf and p and 100 * gf / p, 0)]
        lines.append(f"| {row} | {threads} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def engines_table(results: list[Row], variants: list[str]) -> str:
    """Items/s (best rep) of each engine/precision variant, ONNX Runtime and PyTorch (variant "default"), and
    each variant's speed-up over them (items/s ratio: above 1, libclip faster)."""
    best_ips: dict[tuple, float] = {}
    for r in results:
        if r.get("type") != "row" or r["impl"] not in ("libclip", "torch", "ort"):
            continue
        key = (r["impl"] if r["impl"] != "libclip" else r.get("variant"), r["row"], r["threads"])
        if r["impl"] == "torch" and r.get("variant") != "default":
            continue
        best_ips[key] = max(best_ips.get(key, 0.0), 1e3 / r["ms_per_item_min"])
    keys = list(dict.fromkeys((r["row"], r["threads"]) for r in results if r.get("type") == "row"
                              and r["impl"] == "libclip" and r.get("variant") in variants))
    head = " | ".join(f"{v} items/s" for v in variants)
    ratios = " | ".join(f"{v} / ORT | {v} / PyTorch" for v in variants)
    lines = [f"| row | threads | {head} | ORT items/s | PyTorch items/s | {ratios} |",
             "| --- | ---: |" + " ---: |" * (3 * len(variants) + 2)]
    for row, threads in keys:
        ort, pt = best_ips.get(("ort", row, threads)), best_ips.get(("torch", row, threads))
        ips = [best_ips.get((v, row, threads)) for v in variants]
        cells = [fmt(x, 1) for x in ips] + [fmt(ort, 1), fmt(pt, 1)]
        for x in ips:
            cells += [fmt(x and ort and x / ort), fmt(x and pt and x / pt)]
        lines.append(f"| {row} | {threads} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: list[Row], runs: int) -> None:
    """The tables, open times and peak RSS of one run's records, or of several runs' pooled."""
    env_rec = {r["variant"]: r for r in results if r.get("type") == "env"}
    timed = list(dict.fromkeys(r.get("variant") for r in results if r.get("type") == "row" and r["impl"] == "libclip"))
    # engine/precision variants (--engines, --precisions): "cblas-f32", ...; "alt/cblas-f32" with the other setting
    combos = [v for v in timed if v not in ("default", "alt", "other", "rss")]
    default_env = env_rec.get("default", {})
    print(f"\nmodel {default_env.get('model')}; libclip {default_env.get('libclip')}; {default_env.get('date')}"
          f"{f' and {runs - 1} more run(s)' if runs > 1 else ''}; {default_env.get('cpus_online')} CPUs; "
          f"reps: >= {default_env.get('min_reps')} and >= {default_env.get('min_time_s')} s per row")
    print("times are ms per item of each row's best rep" + (" over all runs" if runs > 1 else "") +
          "; ratios are libclip time / other time (below 1: libclip faster); sgemm fraction: cblas_sgemm time / "
          "libclip time, medians of interleaved reps" + (" (range over runs)" if runs > 1 else "") + "\n")
    if "default" in timed or not combos:
        print(table(results, "default", f"{default_env.get('blas')} as the environment sets it: core "
                    f"{default_env.get('blas_core')}, OPENBLAS_CORETYPE={default_env.get('OPENBLAS_CORETYPE')}"))
    for v in combos:
        env = env_rec.get(v, {})
        setting = ("the other OpenBLAS setting, " if v.startswith("alt/") else "") + \
            f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE') or 'unset'}: core {env.get('blas_core')}"
        print(table(results, v, f"libclip {v} ({engine_label(results, v)}); {setting}"
                    f"{'' if v.startswith('cblas') or v.startswith('alt/cblas') else '; no sgemm reference'}",
                    "alt" if v.startswith("alt/") else "default"))
        print()
    main_combos = [v for v in combos if not v.startswith("alt/")]
    if main_combos:
        print("items/s of each row's best rep; ratios are items/s ratios (speed-ups: above 1, libclip faster), "
              "against ORT and PyTorch in the inherited environment\n")
        print(engines_table(results, main_combos))
        print()
        print(peak_table(results, main_combos))
    alt = env_rec.get("alt")
    if alt and "alt" in timed:
        setting = (f"OPENBLAS_CORETYPE={alt['OPENBLAS_CORETYPE']}" if alt.get("OPENBLAS_CORETYPE")
                   else "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset")
        print()
        print(table(results, "alt", f"{setting}: core {alt.get('blas_core')} "
                    "(ORT column: the same ONNX Runtime runs as above)"))
    other = env_rec.get("other")
    if other:
        print()
        print(table(results, "other", f"libclip built against {other.get('blas')} {other.get('blas_config')}, kernels "
                    f"{other.get('blas_core')} (PyTorch and ORT columns: the first table's runs)", "default"))
    for variant, env in env_rec.items():
        threading = threading_table(results, variant)
        if threading:
            print(f"\nlibclip's own threads against the BLAS's threads, {env.get('blas')} core {env.get('blas_core')} "
                  "(interleaved reps of one process; below 1: libclip's own faster)\n")
            print(threading)
    print()
    for r in results:
        if r.get("type") == "agreement":
            for who, worst in r.items():
                if isinstance(worst, dict):
                    print(f"agreement{' ' + r['variant'] if r.get('variant') else ''}, {who}: worst cosine "
                          + ", ".join(f"{k} {v:.8f}" for k, v in worst.items()))
    for r in results:
        label = "" if r.get("variant") in ("default", "rss") else f"{r.get('variant')}: "
        if r.get("type") == "rss" and r.get("label"):
            label = f"{r['label']}: "
        if r.get("type") == "open" and (r.get("variant") == "default" or r.get("variant") in combos):
            print(f"{label}open {r['tower']} ({r['cache']}{', ' + r['evict'] if 'evict' in r else ''}): "
                  f"{r['open_ms']:.1f} ms, then first encode {r['first_encode_ms']:.1f} ms")
        if r.get("type") == "rss" and r.get("variant") == "rss":
            batch = r["max_image_batch"] if r["mode"] == "image" else r["max_text_batch"]
            print(f"{label}peak RSS, {r['mode']}-only process, batch {batch}: "
                  f"{r['peak_rss_mib']:.0f} MiB")


def other_env(coretype: str) -> tuple[dict[str, str], str]:
    env = dict(os.environ)
    if "OPENBLAS_CORETYPE" in env or "OPENBLAS_L2_SIZE" in env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        return env, "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset"
    env["OPENBLAS_CORETYPE"] = coretype
    return env, f"OPENBLAS_CORETYPE={coretype}"


def engine_combos(engines: str | None, precisions: str | None) -> list[tuple[str, list[str]]]:
    """(variant label, lclip-bench arguments) per engine/precision combination to time; without either
    option, libclip's defaults once, as variant "default"."""
    if not engines and not precisions:
        return [("default", [])]
    combos = []
    for engine in (engines or "auto").split(","):
        for precision in (precisions or "f32").split(","):
            if engine == "cblas" and precision == "bf16":
                log("skipping cblas-bf16: precision BF16 runs on the oneDNN engine only")
                continue
            combos.append((f"{engine}-{precision}", ["--engine", engine, "--precision", precision]))
    return combos


def same_inputs(a: Path, b: Path) -> None:
    """Two lclip-bench --emit-inputs directories hold the same pixels and token ids."""
    for name in ("image_pixels.f32", "captions.i32", "text77.i32"):
        if (a / name).read_bytes() != (b / name).read_bytes():
            sys.exit(f"{a / name} and {b / name} differ: the runs did not get the same inputs")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="HF-layout CLIP directory, or open_clip with a ResNet tower")
    ap.add_argument("--out", type=Path, default=Path("/tmp/lclip-compare"), help="work and results directory")
    ap.add_argument("--build", type=Path, default=Path("/tmp/build-bench"),
                    help="CMake build directory configured with -DLIBCLIP_BUILD_BENCH=ON")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=20)
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds of reps per row at least")
    ap.add_argument("--alt-coretype", default="SkylakeX",
                    help="OPENBLAS_CORETYPE for the second run when the environment sets none")
    ap.add_argument("--no-alt", action="store_true", help="skip the second OpenBLAS setting")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--other-build", type=Path,
                    help="a second -DLIBCLIP_BUILD_BENCH=ON build against another CBLAS (e.g. -DLIBCLIP_BLAS=BLIS)")
    ap.add_argument("--blas-threading", action="store_true",
                    help="also time libclip on the BLAS's threads (n_threads = 0), alternating with its own")
    ap.add_argument("--engines", help="libclip engines to time, each its own rows: e.g. cblas,onednn "
                    "(lclip-bench --engine auto|cblas|onednn; default: lclip-bench's, AUTO)")
    ap.add_argument("--precisions", help="libclip precisions to time with each engine: e.g. f32,bf16 "
                    "(lclip-bench --precision; default f32); bf16 must agree with PyTorch to cosine >= 0.999")
    ap.add_argument("--quick", action="store_true", help="one rep per row (a smoke test, not a measurement)")
    ap.add_argument("--tables", type=Path, nargs="+", metavar="RESULTS",
                    help="only print the tables of earlier runs' results.jsonl files (several: best of them)")
    ap.add_argument("--torch-worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.torch_worker:
        torch_worker(args.torch_worker)
        return 0
    if args.tables:
        # lclip-bench's own output (no variant) reads as the inherited environment's
        report([{"variant": "default", **json.loads(line)}
                for f in args.tables for line in f.read_text().splitlines() if line.strip()], len(args.tables))
        return 0
    if not args.model:
        ap.error("--model is required")
    model = args.model.resolve()
    bench = args.build / "bench" / "lclip-bench"
    other_bench = args.other_build / "bench" / "lclip-bench" if args.other_build else None
    for b in filter(None, (bench, other_bench)):
        if not b.exists():
            build = b.parent.parent
            sys.exit(f"{b} not found: cmake -S . -B {build} -DLIBCLIP_BUILD_BENCH=ON && cmake --build {build} -j2")
    if args.quick:
        args.min_reps, args.max_reps, args.min_time = 1, 1, 0.0
    reps = {"min_reps": args.min_reps, "max_reps": args.max_reps, "min_time": args.min_time}
    rep_args = ["--min-reps", str(args.min_reps), "--max-reps", str(args.max_reps), "--min-time", str(args.min_time)]
    threading_args = ["--blas-threading"] if args.blas_threading else []
    threads = [int(t) for t in args.threads.split(",")]
    combos = engine_combos(args.engines, args.precisions)
    args.out.mkdir(parents=True, exist_ok=True)
    results: list[Row] = []

    def keep(rows: list[Row], variant: str) -> list[Row]:
        for r in rows:
            r["variant"] = variant
        results.extend(rows)
        return rows

    # 0: the machine's arithmetic peak (FMA loops), the denominator of "% of peak"; again at the end (step 7)
    keep(run_json([str(bench), "--fma-peak", "--threads", args.threads]), "default")

    # 1-3: inputs, agreement, export
    inputs = args.out / "inputs"
    keep(run_json([str(bench), "--model", str(model), "--emit-inputs", str(inputs), "--emit-only"]), "default")
    meta = json.loads((inputs / "inputs.json").read_text())
    vision, text = torch_clip.load(model)
    resnet = isinstance(vision, torch_clip.ResNetTower)
    torch_emb = torch_embeddings(vision, text, inputs, meta)
    agreement = {"torch": check_agreement("PyTorch", torch_emb, inputs, meta["dim"])}
    ort_ok = not args.no_ort
    if ort_ok:
        image_onnx, text_onnx = export_onnx(vision, text, meta, args.out)
        if not (HERE / "node_modules" / "onnxruntime-node").is_dir():
            log("bench/node_modules/onnxruntime-node missing: run `npm install` in bench/; skipping ONNX Runtime")
            ort_ok = False
    del vision, text
    ort_spec = {}
    if ort_ok:
        ort_spec = {"image_onnx": str(image_onnx), "text_onnx": str(text_onnx), "inputs": str(inputs),
                    "image_size": meta["image_size"], "context": meta["context_length"], "verify_out": str(args.out)}
        spec_path = args.out / "ort_verify.json"
        spec_path.write_text(json.dumps({**ort_spec, "mode": "verify"}))
        keep(run_json(["node", str(HERE / "ort_bench.mjs"), str(spec_path)]), "default")
        agreement["ort"] = check_agreement("ONNX Runtime", {k: load_f32(args.out / f"ort_{k}_embeds.f32", meta["dim"])
                                                            for k in ("image", "captions", "text77")},
                                           inputs, meta["dim"])
    results.append({"type": "agreement", **agreement})

    # 3b: each engine/precision's embeddings against PyTorch's float32 ones
    def emit_combo(label: str, engine_args: list[str], env: dict[str, str] | None = None) -> dict[str, np.ndarray]:
        combo_inputs = args.out / f"inputs-{label.replace('/', '-')}"
        keep(run_json([str(bench), "--model", str(model), *engine_args, "--emit-inputs", str(combo_inputs),
                       "--emit-only"], env), label)
        same_inputs(inputs, combo_inputs)
        return {k: load_f32(combo_inputs / f"{k}_embeds.f32", meta["dim"]) for k in ("image", "captions", "text77")}

    combo_emb = {}
    for label, engine_args in combos:
        if label != "default":
            combo_emb[label] = emit_combo(label, engine_args)
            results.append({"type": "agreement", "variant": label, "libclip_vs_torch_f32": check_agreement(
                f"libclip {label}", combo_emb[label], inputs, meta["dim"], torch_emb, label.endswith("-bf16"),
                "PyTorch (float32)", resnet)})

    # 4: timings in the inherited environment
    def sgemm_args(label: str) -> list[str]:
        """The sgemm reference times cblas_sgemm: the cblas engine's kernel, no other engine's."""
        return [] if label == "default" or label.startswith("cblas-") else ["--no-sgemm"]

    lib: list[Row] = []
    for label, engine_args in combos:
        lib += keep(run_json([str(bench), "--model", str(model), "--threads", args.threads, *engine_args,
                              *sgemm_args(label), *rep_args, *threading_args]), label)
    rows = list({r["row"]: {"row": r["row"], "kind": r["row"].split("_")[0], "batch": r["batch"], "items": r["items"]}
                 for r in lib if r["type"] == "row" and r["impl"] == "libclip" and r["threads"] == threads[0]}.values())
    keep(time_torch(model, inputs, meta, rows, threads, reps, args.out, dict(os.environ)), "default")
    if ort_ok:
        spec_path = args.out / "ort_time.json"
        spec_path.write_text(json.dumps({**ort_spec, "mode": "time", "threads": threads, "rows": rows, **reps}))
        keep(run_json(["node", str(HERE / "ort_bench.mjs"), str(spec_path)]), "default")

    # 5: the other OpenBLAS setting
    alt_label = ""
    if not args.no_alt:
        env, alt_label = other_env(args.alt_coretype)
        for label, engine_args in combos:
            if label == "default":
                alt_inputs = args.out / "inputs-alt"
                keep(run_json([str(bench), "--model", str(model), "--emit-inputs", str(alt_inputs), "--emit-only"],
                              env), "alt")
                shutil.copyfile(inputs / "image_pixels.f32", alt_inputs / "image_pixels.f32")
                got = {k: load_f32(alt_inputs / f"{k}_embeds.f32", meta["dim"])
                       for k in ("image", "captions", "text77")}
                results.append({"type": "agreement", "variant": "alt", "libclip_alt_vs_default": check_agreement(
                    f"libclip with {alt_label}", got, inputs, meta["dim"])})
                variant = "alt"
            else:  # the same engine and precision in the inherited environment is the reference
                variant = f"alt/{label}"
                got = emit_combo(variant, engine_args, env)
                results.append({"type": "agreement", "variant": variant, f"libclip_alt_vs_{label}": check_agreement(
                    f"libclip {label} with {alt_label}", got, inputs, meta["dim"], combo_emb[label],
                    label.endswith("-bf16"), f"libclip {label} in the inherited environment")})
            keep(run_json([str(bench), "--model", str(model), "--threads", args.threads, "--no-open", *engine_args,
                           *sgemm_args(label), *rep_args, *threading_args], env), variant)
        keep(time_torch(model, inputs, meta, rows, threads, reps, args.out, env), "alt")

    # 5b: libclip built against another CBLAS, PyTorch as in 4
    if other_bench:
        other_inputs = args.out / "inputs-other"
        keep(run_json([str(other_bench), "--model", str(model), "--emit-inputs", str(other_inputs), "--emit-only"]),
             "other")
        shutil.copyfile(inputs / "image_pixels.f32", other_inputs / "image_pixels.f32")
        got = {k: load_f32(other_inputs / f"{k}_embeds.f32", meta["dim"]) for k in ("image", "captions", "text77")}
        results.append({"type": "agreement", "variant": "other",
                        "libclip_other_vs_default": check_agreement("libclip (other CBLAS)", got, inputs, meta["dim"])})
        keep(run_json([str(other_bench), "--model", str(model), "--threads", args.threads, "--no-open", *rep_args]),
             "other")

    # 6: peak RSS of single-tower processes
    for label, engine_args in combos:
        for mode, batches in (("image", ["--image-batches", "1"]), ("image", ["--image-batches", "32"]),
                              ("text", ["--text-batches", "1"]), ("text", ["--text-batches", "32"])):
            for r in keep(run_json([str(bench), "--model", str(model), "--mode", mode, "--no-sgemm", "--no-open",
                                    "--threads", "1", *engine_args, *batches, "--min-reps", "1", "--max-reps", "1",
                                    "--min-time", "0"]), "rss"):
                if label != "default":
                    r["label"] = label

    # 7: the peak again: the best of both runs is the machine's, whatever phase it was in
    keep(run_json([str(bench), "--fma-peak", "--threads", args.threads]), "default")

    out_file = args.out / "results.jsonl"
    out_file.write_text("".join(json.dumps(r) + "\n" for r in results))

    report(results, 1)
    print(f"\nall records: {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
