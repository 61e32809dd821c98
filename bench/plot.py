#!/usr/bin/python3
"""Throughput against batch size from compare.py's JSON lines, as a PNG.

    python3 bench/plot.py [--results /tmp/lclip-compare/results.jsonl] [--out docs/performance.png]

Three panels (images/s, captions/s, 77-token texts/s against batch size), one line per
implementation and thread count, from the run in the inherited OpenBLAS environment
("default" variant), plus libclip built against another CBLAS when compare.py ran --other-build;
after compare.py --engines/--precisions, one libclip line per engine and precision. Needs Debian's python3-matplotlib; re-runs itself under /usr/bin/python3
when the python3 on PATH lacks it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"
try:
    import matplotlib
except ImportError:
    if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, *sys.argv])
    sys.exit("plot.py needs python3-matplotlib (apt-get install python3-matplotlib)")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = (("image", "images/s"), ("captions", "captions/s (5-20 tokens)"), ("text77", "77-token texts/s"))
STYLE = {"libclip": ("tab:blue", "libclip"), "torch": ("tab:orange", "PyTorch"), "ort": ("tab:green", "ONNX Runtime")}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=Path("/tmp/lclip-compare/results.jsonl"))
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "performance.png")
    ap.add_argument("--variant", default="default", help="default (inherited environment) or alt")
    args = ap.parse_args(argv)

    records = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    rows = [r for r in records if r.get("type") == "row"
            and (r.get("variant") == args.variant or (r["impl"] == "ort" and r.get("variant") == "default"))]
    env = next((r for r in records if r.get("type") == "env" and r.get("variant") == args.variant), {})
    other = next((r for r in records if r.get("type") == "env" and r.get("variant") == "other"), None)
    style = dict(STYLE)
    # compare.py --engines/--precisions: one line per engine-precision variant, beside PyTorch and ORT
    combos = list(dict.fromkeys(r["variant"] for r in records if r.get("type") == "row" and r["impl"] == "libclip"
                                and r.get("variant") not in ("default", "alt", "other", "rss")
                                and not r["variant"].startswith("alt/")))
    if combos and args.variant == "default":
        rows = [r for r in rows if r["impl"] != "libclip"]
        rows += [{**r, "impl": f"libclip_{r['variant']}"} for r in records if r.get("type") == "row"
                 and r["impl"] == "libclip" and r.get("variant") in combos]
        del style["libclip"]
        colors = ("tab:blue", "tab:red", "tab:purple", "tab:brown", "tab:cyan")
        for v, color in zip(combos, colors):
            style[f"libclip_{v}"] = (color, f"libclip {v}")
        env = next((r for r in records if r.get("type") == "env" and r.get("variant") == combos[0]), env)
    if other:
        rows += [{**r, "impl": "libclip_other"} for r in records
                 if r.get("type") == "row" and r.get("variant") == "other" and r["impl"] == "libclip"]
        style["libclip_other"] = ("tab:purple", f"libclip on {other.get('blas')} ({other.get('blas_core')})")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    for ax, (kind, label) in zip(axes, PANELS):
        for impl, (color, name) in style.items():
            for threads, dash in ((1, "--"), (2, "-")):
                pts = sorted((r["batch"], r["items_per_s"]) for r in rows
                             if r["impl"] == impl and r["threads"] == threads and r["row"].split("_")[0] == kind)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], dash, marker="o", color=color,
                            label=f"{name}, {threads} thread{'s' if threads > 1 else ''}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.set_title(label)
    axes[0].legend(fontsize=8)
    model = Path(str(env.get("model", "?"))).name
    fig.suptitle(f"{model}: throughput against batch size (median of repeated runs; {env.get('date', '')}, "
                 f"{env.get('blas', 'OpenBLAS')} core {env.get('blas_core', '?')})")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
