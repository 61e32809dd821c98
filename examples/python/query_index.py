#!/usr/bin/python3
"""Find the images nearest to a text in a merged dask_embed.py index.

    query_index.py --model MODEL INDEX_DIR [-k 10] [--chunk-rows N] TEXT [TEXT ...]

INDEX_DIR is the output of merge_shards.py (JOB_DIR/merged by default). The
embedding matrix is opened memory-mapped and scanned ``--chunk-rows`` rows at a
time, keeping only the best ``k`` candidates per text, so memory use is one chunk
whatever the index size: the same code searches a few thousand rows or a matrix
larger than RAM (at disk read speed). Paths of the winners are read from
``paths.jsonl`` through the byte offsets in ``paths.offsets.npy``, without
scanning the file. Scores are cosine similarities.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dask_embed import model_fingerprint  # noqa: E402
from merge_shards import INDEX_FORMAT  # noqa: E402

__all__ = ["EmbeddingIndex"]


class EmbeddingIndex:
    """A merged index: memory-mapped embeddings and random access to the paths."""

    def __init__(self, index_dir: str | os.PathLike[str]) -> None:
        self.dir = Path(index_dir)
        info_path = self.dir / "index.json"
        if not info_path.is_file():
            raise FileNotFoundError(f"{info_path} not found: run merge_shards.py first (or it did not finish)")
        self.info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8"))
        if self.info.get("format") != INDEX_FORMAT:
            raise ValueError(f"{info_path}: unknown format {self.info.get('format')!r}")
        files = self.info["files"]
        self.rows, self.dim = int(self.info["rows"]), int(self.info["dim"])
        if self.rows:
            self.embeddings: np.ndarray = np.load(self.dir / files["embeddings"], mmap_mode="r")
            self.offsets: np.ndarray = np.load(self.dir / files["offsets"], mmap_mode="r")
        else:  # numpy cannot memory-map an empty array
            self.embeddings = np.empty((0, self.dim), dtype=np.float32)
            self.offsets = np.empty((0,), dtype=np.uint64)
        if self.embeddings.shape != (self.rows, self.dim) or self.offsets.shape != (self.rows,):
            raise ValueError(f"{self.dir}: the files do not match index.json")
        self._paths_file = self.dir / files["paths"]

    def path(self, row: int) -> str:
        """The image path of ``row``."""
        with open(self._paths_file, "rb") as f:
            f.seek(int(self.offsets[row]))
            return json.loads(f.readline())

    def search(self, queries: np.ndarray, k: int, chunk_rows: int = 1 << 18) -> list[list[tuple[int, float]]]:
        """The ``k`` rows most similar to each query, best first.

        Args:
            queries: (n, dim) unit vectors (the text embeddings).
            chunk_rows: rows read and scored at a time; 2^18 rows of 512
                floats is 512 MiB.

        Returns:
            For each query, up to ``k`` (row, cosine) pairs, ties by row.
        """
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        n = len(q)
        best_rows = np.empty((0, n), dtype=np.int64)
        best_scores = np.empty((0, n), dtype=np.float32)
        for start in range(0, self.rows, chunk_rows):
            block = np.asarray(self.embeddings[start : start + chunk_rows], dtype=np.float32)
            scores = block @ q.T  # (rows in chunk, n)
            if not self.info["normalized"]:
                norms = np.linalg.norm(block, axis=1, keepdims=True)
                scores /= np.where(norms > 0, norms, 1)
            take = min(k, len(block))
            top = np.argpartition(-scores, take - 1, axis=0)[:take]
            rows = np.concatenate([best_rows, top + start])
            cand = np.concatenate([best_scores, np.take_along_axis(scores, top, axis=0)])
            keep = min(k, len(rows))
            sel = np.argpartition(-cand, keep - 1, axis=0)[:keep]
            best_rows = np.take_along_axis(rows, sel, axis=0)
            best_scores = np.take_along_axis(cand, sel, axis=0)
        results: list[list[tuple[int, float]]] = []
        for j in range(n):
            order = np.lexsort((best_rows[:, j], -best_scores[:, j]))
            results.append([(int(best_rows[i, j]), float(best_scores[i, j])) for i in order])
        return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Find the images nearest to texts in a merged libclip index "
        "(memory-mapped, scanned in chunks: works for indexes larger than RAM).",
    )
    parser.add_argument("index_dir", metavar="INDEX_DIR", help="the output directory of merge_shards.py")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="what to look for")
    parser.add_argument("--model", required=True, metavar="PATH",
                        help="the checkpoint that embedded the images (its text tower encodes the query)")
    parser.add_argument("-k", "--top-k", type=int, default=10, metavar="K", help="results per text (default 10)")
    parser.add_argument("--chunk-rows", type=int, default=1 << 18, metavar="N",
                        help="rows scored at a time (default 262144)")
    parser.add_argument("--vocab", metavar="FILE", help="bpe_simple_vocab_16e6.txt.gz for open_clip checkpoints")
    args = parser.parse_args(argv)
    if args.top_k < 1 or args.chunk_rows < 1:
        parser.error("--top-k and --chunk-rows must be at least 1")

    import libclip

    try:
        index = EmbeddingIndex(args.index_dir)
        if model_fingerprint(args.model) != index.info["model_fingerprint"]:
            print(f"query_index: {args.model} is not the model that embedded the images "
                  f"({index.info['model_path']}); similarities across models mean nothing", file=sys.stderr)
            return 2
        with libclip.TextEncoder(args.model, vocab_path=args.vocab) as text_encoder:
            queries = text_encoder.encode(args.texts)
    except (OSError, ValueError, libclip.ClipError) as e:
        print(f"query_index: {e}", file=sys.stderr)
        return 1
    for text, hits in zip(args.texts, index.search(queries, args.top_k, args.chunk_rows)):
        print(text)
        for rank, (row, score) in enumerate(hits, 1):
            print(f"{rank:4d}  {score:+.4f}  {index.path(row)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
