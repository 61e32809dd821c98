#!/usr/bin/python3
"""Concatenate the shards of a dask_embed.py job into one embedding matrix and path list.

    merge_shards.py JOB_DIR [--out DIR]

Writes into DIR (default JOB_DIR/merged):

    embeddings.npy       float32 (rows, dim), row i = the i-th successfully embedded image
    paths.jsonl          row i's path, one JSON string per line
    paths.offsets.npy    uint64 (rows,): byte offset of line i in paths.jsonl (random access)
    failed.jsonl         the images that could not be embedded: path, status, message, shard
    index.json           row count, dim, model fingerprint, ...; written last

The matrix is preallocated with ``numpy.lib.format.open_memmap`` and filled one
shard at a time, so memory use stays at one shard whatever the total size (a
billion rows of 512 floats is a 2 TB file, never an array in RAM). Everything is
checked on the way, streaming: every shard is finished; each shard's rows,
paths file and failure list add up to exactly its slice of the job's sorted
input list (no gaps, no extra or repeated rows); the merged paths are strictly
increasing, hence free of duplicates. Files are written under temporary names
and renamed at the end, ``index.json`` last: a directory without
``index.json`` holds no usable merge.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dask_embed import (  # noqa: E402
    JOB_FORMAT,
    JobLayout,
    atomic_write_bytes,
    encode_path_lines,
    read_path_lines,
    sync_directory,
    temp_name,
)

__all__ = ["INDEX_FORMAT", "MergeError", "MergeResult", "merge_job", "npy_shape"]

INDEX_FORMAT = "libclip-embeddings/1"
FILES = {"embeddings": "embeddings.npy", "paths": "paths.jsonl", "offsets": "paths.offsets.npy",
         "failed": "failed.jsonl"}


class MergeError(Exception):
    """The job is unfinished or its files are inconsistent."""


@dataclass(frozen=True)
class MergeResult:
    out_dir: Path
    rows: int
    dim: int
    failed: int
    shards: int


def npy_shape(path: Path) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype from a .npy header, without reading the data."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    return shape, dtype


class _Inputs:
    """Streams the job's inputs.jsonl, checking order and (at the end) the digest."""

    def __init__(self, layout: JobLayout, manifest: dict[str, Any]) -> None:
        self._path = layout.inputs
        self._expected = manifest["inputs"]
        self._sha = hashlib.sha256()
        self.count = 0
        self._iter = self._lines()

    def _lines(self) -> Iterator[str]:
        previous: Optional[str] = None
        with open(self._path, "rb") as f:
            for raw in f:
                self._sha.update(raw)
                path = json.loads(raw)
                if previous is not None and not previous < path:
                    raise MergeError(f"{self._path}: not sorted and unique at line {self.count + 1}")
                previous = path
                self.count += 1
                yield path

    def take(self, n: int) -> list[str]:
        return list(islice(self._iter, n))

    def check_end(self) -> None:
        rest = sum(1 for _ in self._iter)
        if rest or self.count != self._expected["count"] or self._sha.hexdigest() != self._expected["sha256"]:
            raise MergeError(f"{self._path} does not match the manifest (changed since the job started?)")


def _check_shard(shard: int, expected: list[str], embedded: list[str], failed: list[dict[str, Any]],
                 rows: int) -> None:
    """The shard's embedded paths (in order) and failed paths must partition its inputs."""
    if len(embedded) != rows:
        raise MergeError(f"shard {shard:06d}: {rows} rows but {len(embedded)} paths")
    failed_paths = [f["path"] for f in failed]
    remaining_failed = set(failed_paths)
    if len(remaining_failed) != len(failed_paths):
        raise MergeError(f"shard {shard:06d}: an image is recorded as failed twice")
    rows_iter = iter(embedded)
    next_row = next(rows_iter, None)
    for path in expected:
        if path == next_row:
            next_row = next(rows_iter, None)
        elif path in remaining_failed:
            remaining_failed.remove(path)
        else:
            raise MergeError(f"shard {shard:06d}: input {path!r} is neither embedded nor recorded as failed")
    if next_row is not None:
        raise MergeError(f"shard {shard:06d}: row path {next_row!r} is not one of its inputs (or repeated)")
    if remaining_failed:
        raise MergeError(f"shard {shard:06d}: failed path {sorted(remaining_failed)[0]!r} is not one of its inputs")


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7" (for messages about many shards)."""
    spans: list[tuple[int, int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    text = [f"{a}-{b}" if a != b else f"{a}" for a, b in spans[:20]]
    return ", ".join(text) + (", ..." if len(spans) > 20 else "")


def merge_job(job_dir: str | os.PathLike[str], out_dir: Optional[str | os.PathLike[str]] = None,
              log: Any = None) -> MergeResult:
    """Merges the shards of the job in ``job_dir`` (see the module docstring).

    Raises:
        MergeError: a shard is unfinished, or the files do not add up.
    """
    layout = JobLayout(job_dir)
    if not layout.manifest.is_file():
        raise MergeError(f"{layout.manifest} not found: not a dask_embed.py job directory")
    manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
    if manifest.get("format") != JOB_FORMAT:
        raise MergeError(f"{layout.manifest}: unknown format {manifest.get('format')!r}")
    n_shards, shard_size = int(manifest["n_shards"]), int(manifest["shard_size"])
    missing = [k for k in range(n_shards) if not layout.is_done(k)]
    if missing:
        raise MergeError(f"{len(missing)} of {n_shards} shards are not finished (shards {_ranges(missing)}); "
                         "rerun dask_embed.py with the same arguments first")

    # Pass 1: headers only, for the total size.
    shapes: list[tuple[int, ...]] = []
    for k in range(n_shards):
        shape, dtype = npy_shape(layout.embeddings(k))
        if dtype != np.float32 or len(shape) != 2:
            raise MergeError(f"{layout.embeddings(k)}: expected a 2-D float32 array, got {dtype} {shape}")
        shapes.append(shape)
    dims = {shape[1] for shape in shapes}
    if len(dims) != 1:
        raise MergeError(f"the shards have different embedding sizes {sorted(dims)}")
    dim = dims.pop()
    total = sum(shape[0] for shape in shapes)

    out = Path(out_dir) if out_dir is not None else layout.root / "merged"
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.json").unlink(missing_ok=True)  # the old merge is invalid from here on
    temps = {name: temp_name(out / filename) for name, filename in FILES.items()}
    try:
        # Pass 2: copy shard by shard into the preallocated, memory-mapped outputs.
        matrix = np.lib.format.open_memmap(temps["embeddings"], mode="w+", dtype=np.float32, shape=(total, dim))
        offsets = np.lib.format.open_memmap(temps["offsets"], mode="w+", dtype=np.uint64, shape=(total,))
        inputs = _Inputs(layout, manifest)
        n_failed, row, position = 0, 0, 0
        previous: Optional[str] = None
        with open(temps["paths"], "wb") as paths_out, open(temps["failed"], "wb") as failed_out:
            for k in range(n_shards):
                expected = inputs.take(shard_size)
                if not expected:
                    raise MergeError(f"shard {k:06d} has no inputs: {layout.inputs} is shorter than the manifest says")
                embedded = list(read_path_lines(layout.paths(k)))
                failed = json.loads(layout.record(k).read_text(encoding="utf-8"))["failed"]
                _check_shard(k, expected, embedded, failed, shapes[k][0])
                block = np.load(layout.embeddings(k), allow_pickle=False)
                matrix[row : row + len(block)] = block
                # Rows must keep increasing across shards: no path twice.
                for path in embedded:
                    if previous is not None and not previous < path:
                        raise MergeError(f"duplicate or unsorted path in the merged rows: {path!r}")
                    previous = path
                data = encode_path_lines(embedded)
                if embedded:
                    line_ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")) + 1
                    offsets[row : row + len(embedded)] = position + np.concatenate(([0], line_ends[:-1]))
                paths_out.write(data)
                position += len(data)
                row += len(embedded)
                for entry in failed:
                    failed_out.write((json.dumps({**entry, "shard": k}, ensure_ascii=True) + "\n").encode())
                n_failed += len(failed)
                if log is not None and (k + 1) % 1000 == 0:
                    log(f"merged {k + 1}/{n_shards} shards, {row} rows")
            inputs.check_end()
            for f in (paths_out, failed_out):
                f.flush()
                os.fsync(f.fileno())
        assert row == total
        matrix.flush()
        offsets.flush()
        del matrix, offsets
        for name, filename in FILES.items():
            os.replace(temps[name], out / filename)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    index = {
        "format": INDEX_FORMAT,
        "rows": total,
        "dim": dim,
        "dtype": "float32",
        "normalized": bool(manifest["normalize"]),
        "model_fingerprint": manifest["model_fingerprint"],
        "model_path": manifest["model_path"],
        "job_dir": os.path.abspath(layout.root),
        "inputs": manifest["inputs"]["count"],
        "failed": n_failed,
        "shards": n_shards,
        "files": FILES,
    }
    atomic_write_bytes(out / "index.json", (json.dumps(index, indent=2) + "\n").encode())
    sync_directory(out)
    return MergeResult(out, total, dim, n_failed, n_shards)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Concatenate the shards of a dask_embed.py job into one memory-mappable "
        "embedding matrix and path list, checking that no image is missing or repeated.",
        epilog="Exit status: 0 merged, 1 the job is unfinished or inconsistent.",
    )
    parser.add_argument("job_dir", metavar="JOB_DIR", help="the --out directory of dask_embed.py")
    parser.add_argument("--out", metavar="DIR", help="where to write the merged files (default JOB_DIR/merged)")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        result = merge_job(args.job_dir, args.out, log=log)
    except (MergeError, OSError, ValueError, KeyError) as e:
        print(f"merge_shards: {e}", file=sys.stderr)
        return 1
    log(f"{result.rows} rows x {result.dim} from {result.shards} shards ({result.failed} images failed) "
        f"-> {result.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
