"""Tests of examples/python/dask_embed.py, merge_shards.py and query_index.py on a
LocalCluster of 2 single-threaded worker processes, with the tiny-gelu fixture
model over the 13 fixture images plus two broken files.

Environment: LIBCLIP_PATH (the shared library), LIBCLIP_FIXTURES_DIR (default
<repo>/../shared/fixtures; the tests skip without it). Run through
tests/python/run_dask_tests.sh BUILD_DIR.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BINDING = REPO / "bindings" / "python"
EXAMPLES = REPO / "examples" / "python"
# sys.path reaches the worker processes too: Dask's nanny starts them with
# multiprocessing's "spawn", which copies the parent's sys.path.
for directory in (BINDING, EXAMPLES):
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))

distributed = pytest.importorskip("distributed", reason="needs python3-distributed")
# Debian's distributed 2022.12 with its tornado warns about this in every LocalCluster.
pytestmark = pytest.mark.filterwarnings("ignore:make_current is deprecated:DeprecationWarning")
import libclip  # noqa: E402

import dask_embed  # noqa: E402
import merge_shards  # noqa: E402
import query_index  # noqa: E402

FIXTURES = Path(os.path.abspath(os.environ.get("LIBCLIP_FIXTURES_DIR") or REPO.parent / "shared" / "fixtures"))
MODEL = FIXTURES / "models" / "tiny-gelu" / "hf"
OTHER_MODEL = FIXTURES / "models" / "tiny-quickgelu" / "hf"
SHARD_SIZE = 3
BATCH_SIZE = 32  # >= SHARD_SIZE: one encode call per shard

if not (MODEL / "model.safetensors").is_file() or not (FIXTURES / "images").is_dir():
    pytest.skip(f"fixtures not found at {FIXTURES} (set LIBCLIP_FIXTURES_DIR)", allow_module_level=True)


def quiet(_: str) -> None:
    """A log function for run_job that keeps the test output short."""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A directory of the 13 fixture images (symbolic links) plus a truncated
    JPEG and a text file named .png, named so that they sort into the middle
    of shards 1 and 3: those shards then embed 2 good images and record 1 bad."""
    directory = tmp_path_factory.mktemp("images")
    images = sorted(p for p in (FIXTURES / "images").iterdir() if p.suffix in (".jpg", ".png"))
    assert len(images) == 13
    for image in images:
        (directory / image.name).symlink_to(image)
    jpeg = (FIXTURES / "images" / "photo_coffee_600x400_progressive.jpg").read_bytes()
    (directory / "photo_coffee_truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    (directory / "synth_not_an_image.png").write_text("hello\n", encoding="utf-8")
    paths = sorted(str(p) for p in directory.iterdir())
    bad = [str(directory / "photo_coffee_truncated.jpg"), str(directory / "synth_not_an_image.png")]
    assert [paths.index(b) // SHARD_SIZE for b in bad] == [1, 3]
    good = [p for p in paths if p not in bad]
    return {"paths": paths, "good": good, "bad": bad, "dir": directory}


@pytest.fixture(scope="module")
def reference(inputs: dict[str, Any]) -> np.ndarray:
    """Single-process embeddings of the good images, encoded in the same batches
    as the job's shards (one libclip call per shard's good images, 1 thread)."""
    paths, bad = inputs["paths"], set(inputs["bad"])
    with libclip.ImageEncoder(MODEL, threads=1) as encoder:
        blocks = [
            encoder.encode([p for p in paths[i : i + SHARD_SIZE] if p not in bad])
            for i in range(0, len(paths), SHARD_SIZE)
        ]
    return np.concatenate(blocks)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


def run(client: Any, job_dir: Path, paths: list[str], **kwargs: Any) -> dask_embed.RunSummary:
    job = dask_embed.prepare_job(job_dir, paths, MODEL, SHARD_SIZE)
    return dask_embed.run_job(client, job, batch_size=BATCH_SIZE, log=quiet, **kwargs)


def merged(job_dir: Path) -> tuple[np.ndarray, list[str], list[dict[str, Any]]]:
    """Merges the job and returns (matrix, paths, failures)."""
    result = merge_shards.merge_job(job_dir)
    matrix = np.load(result.out_dir / "embeddings.npy", mmap_mode="r")
    paths = list(dask_embed.read_path_lines(result.out_dir / "paths.jsonl"))
    with open(result.out_dir / "failed.jsonl", encoding="utf-8") as f:
        failed = [json.loads(line) for line in f]
    return np.asarray(matrix), paths, failed


def assert_complete_and_exact(job_dir: Path, inputs: dict[str, Any], reference: np.ndarray) -> None:
    matrix, paths, failed = merged(job_dir)
    assert paths == inputs["good"], "every good image exactly once, in sorted order"
    assert len(set(paths)) == len(paths)
    assert matrix.dtype == np.float32 and matrix.shape == reference.shape
    # Bit for bit: same library, same thread count, same batch per shard.
    assert np.array_equal(matrix, reference)
    assert sorted(f["path"] for f in failed) == inputs["bad"]


def shard_files(job_dir: Path) -> dict[str, int]:
    """Committed shard files (not temporaries) and their mtimes in ns."""
    return {p.name: p.stat().st_mtime_ns for p in (job_dir / "shards").iterdir() if not p.name.startswith(".")}


def temporaries(job_dir: Path) -> list[str]:
    return sorted(p.name for p in (job_dir / "shards").glob(".*.tmp-*"))


def test_matches_single_process(client: Any, inputs: dict[str, Any], reference: np.ndarray, tmp_path: Path) -> None:
    summary = run(client, tmp_path / "job", inputs["paths"])
    assert summary.complete and not summary.errors
    assert sorted(summary.computed) == [0, 1, 2, 3, 4] and summary.already_done == 0
    assert (summary.embedded, summary.failed_images) == (13, 2)
    assert_complete_and_exact(tmp_path / "job", inputs, reference)

    # Against one batch of all 13 images the rows may differ in the last bits:
    # libclip's GEMMs block differently for another row count (documented in
    # docs/python.md), so this comparison has a tolerance.
    matrix, _, failed = merged(tmp_path / "job")
    with libclip.ImageEncoder(MODEL, threads=1) as encoder:
        whole = encoder.encode(inputs["good"])
    np.testing.assert_allclose(matrix, whole, rtol=0, atol=1e-6)

    statuses = {Path(f["path"]).name: f["status_name"] for f in failed}
    assert statuses == {"photo_coffee_truncated.jpg": "LCLIP_E_FORMAT", "synth_not_an_image.png": "LCLIP_E_UNSUPPORTED"}
    # One encoder per worker process: each process opened the model once and
    # reused it for all its shards.
    records = [json.loads((tmp_path / "job" / "shards" / f"shard-{k:06d}.json").read_text()) for k in range(5)]
    assert all(r["encoder_opens_in_process"] == 1 for r in records)
    assert 1 <= len({r["worker"] for r in records}) <= 2


def test_resume_after_failed_shard(client: Any, inputs: dict[str, Any], reference: np.ndarray,
                                   tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    first = run(client, job_dir, inputs["paths"], fault=(2, "raise"))
    assert not first.complete and first.unfinished == [2]
    assert "injected fault in shard 2" in first.errors[2]
    assert sorted(first.computed) == [0, 1, 3, 4]
    assert not (job_dir / "shards" / "shard-000002.npy").exists()
    assert temporaries(job_dir), "the simulated crash leaves its temporary .npy behind"
    with pytest.raises(merge_shards.MergeError, match="1 of 5 shards are not finished"):
        merge_shards.merge_job(job_dir)

    before = shard_files(job_dir)
    second = run(client, job_dir, inputs["paths"])
    assert second.complete and second.computed == [2] and second.already_done == 4
    assert temporaries(job_dir) == []
    after = shard_files(job_dir)
    finished_before = {name: t for name, t in before.items() if not name.startswith("shard-000002.")}
    assert {name: after[name] for name in finished_before} == finished_before, "finished shards not rewritten"
    assert_complete_and_exact(job_dir, inputs, reference)


def test_resume_after_killed_worker(client: Any, inputs: dict[str, Any], reference: np.ndarray,
                                    tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    summary = run(client, job_dir, inputs["paths"], fault=(1, "exit-once"))
    # The worker died after writing shard 1's temporary file; Dask ran the task
    # again on a live worker within the same run.
    marker = job_dir / "fault-exit-shard-000001"
    assert marker.is_file()
    killed_pid = int(marker.read_text())
    assert summary.complete and not summary.errors
    record = json.loads((job_dir / "shards" / "shard-000001.json").read_text())
    assert not record["worker"].endswith(f":{killed_pid}")
    assert_complete_and_exact(job_dir, inputs, reference)

    before = shard_files(job_dir)
    rerun = run(client, job_dir, inputs["paths"])
    assert rerun.complete and rerun.computed == [] and rerun.already_done == 5
    assert shard_files(job_dir) == before
    assert temporaries(job_dir) == []


def test_merge_detects_gaps(client: Any, inputs: dict[str, Any], tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    assert run(client, job_dir, inputs["paths"]).complete
    shards = job_dir / "shards"
    # Drop the last row of shard 3 (its path and embedding) as a buggy writer might.
    paths = list(dask_embed.read_path_lines(shards / "shard-000003.paths.jsonl"))
    np.save(shards / "shard-000003.npy", np.load(shards / "shard-000003.npy")[:-1])
    (shards / "shard-000003.paths.jsonl").write_bytes(dask_embed.encode_path_lines(paths[:-1]))
    with pytest.raises(merge_shards.MergeError, match="neither embedded nor recorded as failed"):
        merge_shards.merge_job(job_dir)
    assert not (job_dir / "merged" / "index.json").exists()
    # Duplicate a row instead.
    np.save(shards / "shard-000003.npy", np.load(shards / "shard-000004.npy")[:3])
    (shards / "shard-000003.paths.jsonl").write_bytes(dask_embed.encode_path_lines(paths[:2] + paths[1:2]))
    with pytest.raises(merge_shards.MergeError, match="shard 000003"):
        merge_shards.merge_job(job_dir)


def test_refuses_another_job(inputs: dict[str, Any], tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    dask_embed.prepare_job(job_dir, inputs["paths"], MODEL, SHARD_SIZE)
    same = dask_embed.prepare_job(job_dir, list(reversed(inputs["paths"])), MODEL, SHARD_SIZE)
    assert same.n_shards == 5
    with pytest.raises(dask_embed.JobMismatch, match="inputs: 15 paths there, 14 here"):
        dask_embed.prepare_job(job_dir, inputs["paths"][1:], MODEL, SHARD_SIZE)
    with pytest.raises(dask_embed.JobMismatch, match="shard size: 3 there, 4 here"):
        dask_embed.prepare_job(job_dir, inputs["paths"], MODEL, 4)
    if OTHER_MODEL.is_dir():
        with pytest.raises(dask_embed.JobMismatch, match="model:"):
            dask_embed.prepare_job(job_dir, inputs["paths"], OTHER_MODEL, SHARD_SIZE)


def cli(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BINDING), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env, text=True,
                          capture_output=True, timeout=120)


def test_command_line(client: Any, inputs: dict[str, Any], reference: np.ndarray, tmp_path: Path) -> None:
    """The scripts as a user runs them, against the running scheduler (the task
    functions then travel to the workers by value)."""
    job_dir = tmp_path / "job"
    address = client.scheduler.address
    embed = ["--model", str(MODEL), "--out", str(job_dir), "--shard-size", str(SHARD_SIZE),
             "--scheduler", address, str(inputs["dir"])]
    first = cli("dask_embed.py", *embed)
    assert first.returncode == 0, first.stderr
    assert "all 5 shards finished" in first.stderr
    again = cli("dask_embed.py", *embed)
    assert again.returncode == 0 and "nothing to do" in again.stderr, again.stderr
    other = cli("dask_embed.py", *embed[:-1], str(inputs["dir"] / "photo_*"))
    assert other.returncode == 2 and "holds a different job" in other.stderr, other.stderr
    assert "inputs: 15 paths there, 8 here; the first 8 agree" in other.stderr

    merge = cli("merge_shards.py", str(job_dir))
    assert merge.returncode == 0, merge.stderr
    assert_complete_and_exact(job_dir, inputs, reference)

    query = cli("query_index.py", "--model", str(MODEL), "-k", "3", "--chunk-rows", "4",
                str(job_dir / "merged"), "a photo of a rocket")
    assert query.returncode == 0, query.stderr
    lines = query.stdout.splitlines()
    assert lines[0] == "a photo of a rocket" and len(lines) == 4
    hits = [line.split(None, 2) for line in lines[1:]]
    assert [h[0] for h in hits] == ["1", "2", "3"]
    assert all(h[2] in inputs["good"] for h in hits)
    # The same ranking as a brute-force search over the whole matrix.
    with libclip.TextEncoder(MODEL) as text:
        scores = reference @ text.encode("a photo of a rocket")
    assert [h[2] for h in hits] == [inputs["good"][i] for i in np.argsort(-scores, kind="stable")[:3]]

    wrong_model = cli("query_index.py", "--model", str(OTHER_MODEL), str(job_dir / "merged"), "x")
    if OTHER_MODEL.is_dir():
        assert wrong_model.returncode == 2 and "not the model" in wrong_model.stderr


def test_query_chunks_agree(tmp_path: Path) -> None:
    """Chunked top-k equals a full sort, for every chunk size, on a random index."""
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((103, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    out = tmp_path / "index"
    out.mkdir()
    np.save(out / "embeddings.npy", rows)
    lines = [dask_embed.path_line(f"img{i:03d}.jpg") + "\n" for i in range(len(rows))]
    (out / "paths.jsonl").write_text("".join(lines), encoding="utf-8")
    np.save(out / "paths.offsets.npy", np.cumsum([0] + [len(s) for s in lines[:-1]]).astype(np.uint64))
    (out / "index.json").write_text(json.dumps({
        "format": merge_shards.INDEX_FORMAT, "rows": len(rows), "dim": 8, "normalized": True,
        "files": merge_shards.FILES}), encoding="utf-8")
    index = query_index.EmbeddingIndex(out)
    queries = rows[[5, 50]]
    for k in (1, 7, 103):
        expected = [list(np.argsort(-(rows @ q), kind="stable")[:k]) for q in queries]
        for chunk in (1, 10, 64, 1000):
            got = index.search(queries, k, chunk)
            assert [[row for row, _ in hits] for hits in got] == expected
    assert index.path(50) == "img050.jpg"


def test_collect_inputs(inputs: dict[str, Any], tmp_path: Path) -> None:
    directory = inputs["dir"]
    assert dask_embed.collect_inputs([str(directory)]) == inputs["paths"]
    # Directories keep only .jpg/.jpeg/.png (the fixture directory also has README.md).
    assert len(dask_embed.collect_inputs([str(FIXTURES / "images")])) == 13
    # Overlapping inputs are de-duplicated; the result is sorted.
    assert dask_embed.collect_inputs([str(directory / "synth_*"), str(directory)]) == inputs["paths"]
    listing = tmp_path / "list.txt"
    listing.write_text(f"{inputs['paths'][3]}\n\n{inputs['paths'][1]}\n{inputs['paths'][3]}\n", encoding="utf-8")
    assert dask_embed.collect_inputs([], str(listing)) == [inputs["paths"][1], inputs["paths"][3]]
    with pytest.raises(dask_embed.InputError, match="no such file or directory"):
        dask_embed.collect_inputs([str(tmp_path / "missing")])
    with pytest.raises(dask_embed.InputError, match="matches nothing"):
        dask_embed.collect_inputs([str(tmp_path / "*.jpg")])
