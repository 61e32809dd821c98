#!/usr/bin/python3
"""Embed a large image collection with libclip on a Dask cluster, in resumable shards.

    dask_embed.py --model MODEL --out JOB_DIR [--shard-size 1000] [--scheduler tcp://HOST:8786]
                  [--paths-from FILE] [INPUT ...]

An INPUT is an image file, a directory (searched recursively for .jpg, .jpeg,
.png, .webp, .gif and .bmp files) or a quoted glob pattern (``'photos/**/*.jpg'``). Without
``--scheduler`` a LocalCluster with one single-threaded worker process per core
is started; with it, the job runs on that cluster's workers. Then
``merge_shards.py JOB_DIR`` concatenates the shards into one matrix and
``query_index.py`` searches it by text. See docs/scale-out.md.

The job directory::

    JOB_DIR/inputs.jsonl                the sorted, de-duplicated input paths, one JSON string a line
    JOB_DIR/manifest.json               what the job is: inputs digest, shard size, model fingerprint
    JOB_DIR/shards/shard-000042.paths.jsonl  paths of the rows of the .npy below, in order
    JOB_DIR/shards/shard-000042.json    shard record: images that failed (path, status, message), stats
    JOB_DIR/shards/shard-000042.npy     float32 (rows, dim) embeddings: the commit point

Sharding is deterministic: shard k holds inputs ``k * shard_size`` to
``(k + 1) * shard_size - 1`` of the sorted list. The manifest is written before
any shard, and a rerun with other inputs, another shard size or another model
is refused.

Commit protocol of a shard: every file is written to a unique temporary name in
the shard directory, flushed and fsync'ed, then renamed over its final name
with ``os.replace`` (atomic on POSIX file systems, NFS included). The paths file
and the shard record are renamed first and the ``.npy`` last, so **a shard is
finished exactly when its .npy exists**, and then its two companions are
complete too. A crash or a killed worker leaves at most a hidden temporary file
(removed by the next run) and renamed companions without an ``.npy``, which the
rerun recomputes and overwrites. Two attempts at the same shard (a task retried
while the first attempt still runs) write identical files under different
temporary names, so whichever rename lands last is as good as the first.

Worker side: an :class:`EncoderCache` worker plugin holds one
``libclip.ImageEncoder`` per worker process, opened on the first shard and
reused for every later one, and closed when the worker shuts down. Workers need
numpy, distributed and the libclip binding (``LIBCLIP_PATH``/``PYTHONPATH`` set in
the environment that starts them). When this file runs as a script, Dask ships
its functions to the workers by value, so the workers do not need this file.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import itertools
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Optional

import numpy as np

try:  # merge_shards.py and query_index.py import this module without needing Dask.
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - exercised only without python3-distributed
    WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = [
    "EncoderCache",
    "InputError",
    "EncoderSpec",
    "Job",
    "JobLayout",
    "JobMismatch",
    "RunSummary",
    "collect_inputs",
    "embed_shard",
    "model_fingerprint",
    "prepare_job",
    "read_path_lines",
    "run_job",
]

JOB_FORMAT = "libclip-dask-embed/1"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp"})
#: The files of a checkpoint that decide its image embeddings (see docs/models.md).
WEIGHT_FILES = ("model.safetensors", "open_clip_model.safetensors")
CONFIG_FILES = ("config.json", "preprocessor_config.json", "open_clip_config.json")
#: Image options of libclip.ImageEncoder that may be set for a job.
IMAGE_OPTION_NAMES = frozenset({"max_image_pixels", "exif_orientation"})
#: Testing hook: makes one shard fail after writing its temporary .npy (see ShardTask.fault).
FAULT_MODES = ("raise", "exit-once")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Files: layout, JSON Lines paths, atomic writes, model fingerprint.


class JobLayout:
    """File names inside a job directory."""

    def __init__(self, job_dir: str | os.PathLike[str]) -> None:
        self.root = Path(job_dir)
        self.manifest = self.root / "manifest.json"
        self.inputs = self.root / "inputs.jsonl"
        self.shards = self.root / "shards"

    def stem(self, shard: int) -> Path:
        return self.shards / f"shard-{shard:06d}"

    def embeddings(self, shard: int) -> Path:
        """The shard's float32 (rows, dim) matrix; its existence means "finished"."""
        return self.stem(shard).with_suffix(".npy")

    def paths(self, shard: int) -> Path:
        """The paths of the shard's rows, one JSON string per line."""
        return self.stem(shard).with_suffix(".paths.jsonl")

    def record(self, shard: int) -> Path:
        """The shard record: failed images and statistics (JSON)."""
        return self.stem(shard).with_suffix(".json")

    def is_done(self, shard: int) -> bool:
        return self.embeddings(shard).is_file()


def path_line(path: str) -> str:
    """One JSON Lines record (without the newline) for a path.

    JSON keeps any file name intact, newlines included. The line is plain UTF-8
    when the path has a UTF-8 form; a name decoded from non-UTF-8 bytes (Python
    holds those as lone surrogates) is written with ``\\udcXX`` escapes, which
    ``json.loads`` turns back into the same ``str``.
    """
    line = json.dumps(path, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(path)
    return line


def read_path_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """The paths of a JSON Lines paths file, in order."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                value = json.loads(raw)
            except ValueError as e:
                raise ValueError(f"{path}:{number}: not a JSON string: {e}") from None
            if not isinstance(value, str):
                raise ValueError(f"{path}:{number}: expected a JSON string, got {type(value).__name__}")
            yield value


#: What JSON must escape (json.dumps with ensure_ascii=False) or cannot write as UTF-8.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\ud800-\udfff]')


def encode_path_lines(paths: Sequence[str]) -> bytes:
    """The bytes of a JSON Lines paths file holding ``paths``: the lines of
    :func:`path_line`, built in one go when no path needs an escape (the usual
    case, and many times faster for millions of paths)."""
    if _NEEDS_ESCAPE.search("".join(paths)) is None:
        return ('"' + '"\n"'.join(paths) + '"\n').encode("utf-8") if paths else b""
    return "".join(path_line(p) + "\n" for p in paths).encode("utf-8")


def temp_name(final: Path) -> Path:
    """A hidden temporary name next to ``final``, unique per host, process and call,
    so that concurrent attempts never write into the same temporary file."""
    tag = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
    return final.with_name(f".{final.name}.tmp-{tag}")


def write_temp(final: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Writes a temporary sibling of ``final`` with ``write(file)``, flushed and
    fsync'ed, and returns its path; removes it again if writing fails."""
    tmp = temp_name(final)
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(final: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Writes ``final`` through a temporary file and an atomic rename: readers
    see the old file or the complete new one, never a partial one."""
    os.replace(write_temp(final, write), final)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    atomic_write(final, lambda f: f.write(data))


def sync_directory(directory: Path) -> None:
    """Makes renames inside ``directory`` durable (best effort: some file
    systems cannot fsync a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_temps(directory: Path) -> int:
    """Deletes the temporary files that interrupted writes left in ``directory``."""
    removed = 0
    for tmp in directory.glob(".*.tmp-*"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    return removed


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def model_fingerprint(model_path: str | os.PathLike[str]) -> str:
    """A content hash of the checkpoint files that decide image embeddings.

    It covers the weights file (``model.safetensors`` or
    ``open_clip_model.safetensors``, or the ``.safetensors`` file given) and the
    configuration files libclip reads beside it, by content and not by path: a
    copy of the model on another node's disk has the same fingerprint, a
    different or half-copied one does not. Hashing reads the whole weights file
    (about a second for ViT-B/32's 605 MB).

    Raises:
        FileNotFoundError: no weights file at ``model_path``.
    """
    path = Path(model_path)
    if path.is_dir():
        directory = path
        weights = [directory / name for name in WEIGHT_FILES if (directory / name).is_file()][:1]
    else:
        directory = path.parent
        weights = [path] if path.is_file() else []
    if not weights:
        raise FileNotFoundError(
            f"{model_path}: no model weights found (expected a .safetensors file or a directory "
            f"holding {' or '.join(WEIGHT_FILES)})"
        )
    digest = hashlib.sha256()
    digest.update(f"weights {_file_sha256(weights[0])}\n".encode())
    for name in CONFIG_FILES:
        config = directory / name
        if config.is_file():
            digest.update(f"{name} {_file_sha256(config)}\n".encode())
    return "sha256:" + digest.hexdigest()


# ---------------------------------------------------------------------------
# Inputs.


class InputError(Exception):
    """An input argument names nothing usable."""


def collect_inputs(specs: Iterable[str], paths_from: Optional[str] = None) -> list[str]:
    """The sorted, de-duplicated absolute paths of the images to embed.

    Args:
        specs: image files (taken whatever their suffix), directories (walked
            recursively for .jpg/.jpeg/.png/.webp/.gif/.bmp, symbolic links to
            directories not
            followed) and glob patterns (``**`` allowed; matched directories are
            walked, matched files taken).
        paths_from: a file with one path per line (empty lines ignored);
            relative paths are relative to the current directory. These
            paths are taken as they are, without checking that they exist.

    Raises:
        InputError: a file or directory does not exist, a pattern matches
            nothing, or there are no images at all.
    """
    found: set[str] = set()

    def add_directory(directory: str) -> None:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in files:
                if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
                    found.add(os.path.abspath(os.path.join(root, name)))

    def add(spec: str, where: str) -> None:
        if os.path.isdir(spec):
            add_directory(spec)
        elif os.path.isfile(spec):
            found.add(os.path.abspath(spec))
        elif glob.has_magic(spec):
            matches = glob.glob(spec, recursive=True)
            if not matches:
                raise InputError(f"{where}: the pattern {spec!r} matches nothing")
            for match in matches:
                if os.path.isdir(match):
                    add_directory(match)
                elif os.path.isfile(match):
                    found.add(os.path.abspath(match))
        else:
            raise InputError(f"{where}: {spec!r}: no such file or directory")

    for spec in specs:
        add(spec, "input")
    if paths_from is not None:
        # Not checked here (100 million stat calls on NFS take hours): a missing
        # file is recorded as a failed image (LCLIP_E_IO) by its shard.
        with open(paths_from, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                line = line.rstrip("\r\n")
                if line:
                    found.add(os.path.abspath(line))
    if not found:
        raise InputError("no images to embed (give files, directories or patterns, or --paths-from)")
    return sorted(found)


# ---------------------------------------------------------------------------
# The job: manifest and deterministic shards.


class JobMismatch(Exception):
    """The job directory already holds another job (other inputs, shard size or model)."""


@dataclass(frozen=True)
class Job:
    """A planned job: its directory, manifest and sorted input paths."""

    layout: JobLayout
    manifest: dict[str, Any]
    paths: list[str]

    @property
    def shard_size(self) -> int:
        return int(self.manifest["shard_size"])

    @property
    def n_shards(self) -> int:
        return int(self.manifest["n_shards"])

    def shard_paths(self, shard: int) -> list[str]:
        """The inputs of ``shard``: a fixed slice of the sorted input list."""
        size = self.shard_size
        return self.paths[shard * size : (shard + 1) * size]

    def pending(self) -> list[int]:
        """The shards whose .npy does not exist yet."""
        return [k for k in range(self.n_shards) if not self.layout.is_done(k)]


def _identity(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest fields that define the job's results; a rerun must match them."""
    keys = ("format", "model_fingerprint", "normalize", "image_options", "shard_size", "inputs")
    return {key: manifest.get(key) for key in keys}


def prepare_job(
    job_dir: str | os.PathLike[str],
    paths: Sequence[str],
    model: str | os.PathLike[str],
    shard_size: int,
    *,
    normalize: bool = True,
    image_options: Optional[dict[str, int]] = None,
    fingerprint: Optional[str] = None,
) -> Job:
    """Creates the job directory and its manifest, or checks an existing one.

    The input list (``inputs.jsonl``) and then the manifest are written before
    any shard. If ``job_dir`` already has a manifest, the job must be the same
    (same sorted inputs, shard size, model content, normalisation and image
    options); the finished shards are then kept and only the rest will run.

    Args:
        paths: the images; sorted and de-duplicated here.
        fingerprint: the model's :func:`model_fingerprint` if already known.

    Raises:
        JobMismatch: ``job_dir`` holds another job, or shards without a manifest.
        ValueError: bad shard size or options, no paths.
    """
    if shard_size < 1:
        raise ValueError(f"shard size must be at least 1, got {shard_size}")
    options = dict(sorted((image_options or {}).items()))
    unknown = set(options) - IMAGE_OPTION_NAMES
    if unknown:
        raise ValueError(f"unknown image options {sorted(unknown)}; allowed: {sorted(IMAGE_OPTION_NAMES)}")
    ordered = list(paths) if _sorted_unique(paths) else sorted(set(paths))
    if not ordered:
        raise ValueError("no input paths")
    layout = JobLayout(job_dir)
    model_path = os.path.abspath(model)
    manifest: dict[str, Any] = {
        "format": JOB_FORMAT,
        "model_path": model_path,
        "model_fingerprint": fingerprint or model_fingerprint(model_path),
        "normalize": bool(normalize),
        "image_options": options,
        "shard_size": shard_size,
        "n_shards": -(-len(ordered) // shard_size),
        "inputs": {"file": layout.inputs.name, "count": len(ordered),
                   "sha256": _inputs_digest(ordered)},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if layout.manifest.is_file():
        old = json.loads(layout.manifest.read_text(encoding="utf-8"))
        problems = _differences(old, manifest, layout, ordered)
        if problems:
            raise JobMismatch(
                f"{layout.root} holds a different job:\n  " + "\n  ".join(problems)
                + "\nUse a new output directory, or delete this one to start over."
            )
        # Same job. The model may have moved (same content): run from where it is now.
        return Job(layout, {**old, "model_path": model_path}, ordered)
    if layout.shards.is_dir() and any(layout.shards.glob("shard-*.npy")):
        raise JobMismatch(f"{layout.shards} holds shards but {layout.manifest} is missing; "
                          "refusing to mix them with a new job (delete the directory to start over)")
    layout.shards.mkdir(parents=True, exist_ok=True)
    # inputs.jsonl first, the manifest last: a job exists once its manifest does.
    atomic_write(layout.inputs, lambda f: _write_path_lines(f, ordered))
    atomic_write_bytes(layout.manifest, (json.dumps(manifest, indent=2) + "\n").encode())
    sync_directory(layout.root)
    return Job(layout, manifest, ordered)


def _sorted_unique(paths: Sequence[str]) -> bool:
    return all(a < b for a, b in itertools.pairwise(paths))


def _path_line_chunks(paths: Sequence[str], chunk: int = 65536) -> Iterator[bytes]:
    """The bytes of a JSON Lines paths file, a chunk of lines at a time (a
    100-million-path list never becomes one string)."""
    for start in range(0, len(paths), chunk):
        yield encode_path_lines(paths[start : start + chunk])


def _inputs_digest(paths: Sequence[str]) -> str:
    """SHA-256 of the inputs.jsonl that ``paths`` give."""
    digest = hashlib.sha256()
    for block in _path_line_chunks(paths):
        digest.update(block)
    return digest.hexdigest()


def _write_path_lines(f: IO[bytes], paths: Sequence[str]) -> None:
    for block in _path_line_chunks(paths):
        f.write(block)


def _differences(old: dict[str, Any], new: dict[str, Any], layout: JobLayout, paths: list[str]) -> list[str]:
    """Human-readable differences between an existing manifest and a new one."""
    problems: list[str] = []
    a, b = _identity(old), _identity(new)
    if a["format"] != b["format"]:
        return [f"format {a['format']!r} there, {b['format']!r} here"]
    if a["model_fingerprint"] != b["model_fingerprint"]:
        problems.append(f"model: {old.get('model_path')} ({a['model_fingerprint']}) there, "
                        f"{new['model_path']} ({b['model_fingerprint']}) here")
    for key in ("shard_size", "normalize", "image_options"):
        if a[key] != b[key]:
            problems.append(f"{key.replace('_', ' ')}: {a[key]!r} there, {b[key]!r} here")
    if a["inputs"] != b["inputs"]:
        count_old, count_new = (a["inputs"] or {}).get("count"), b["inputs"]["count"]
        detail = f"inputs: {count_old} paths there, {count_new} here"
        with contextlib.suppress(OSError, ValueError):
            for index, (there, here) in enumerate(zip(read_path_lines(layout.inputs), paths)):
                if there != here:
                    detail += f"; first difference at #{index}: {there!r} there, {here!r} here"
                    break
            else:
                if count_old != count_new:
                    detail += f"; the first {min(count_old or 0, count_new)} agree"
        problems.append(detail)
    return problems


# ---------------------------------------------------------------------------
# Worker side.


@dataclass(frozen=True)
class EncoderSpec:
    """What a worker opens: the model (absolute path on the workers), its
    expected fingerprint, libclip (OpenBLAS) threads, normalisation, options."""

    model: str
    fingerprint: str
    threads: int = 1
    normalize: bool = True
    options: tuple[tuple[str, int], ...] = ()

    def key(self) -> tuple[Any, ...]:
        # A plain tuple: the class itself may be shipped by value and rebuilt.
        return (self.model, self.fingerprint, self.threads, self.normalize, self.options)


class EncoderCache(WorkerPlugin):  # type: ignore[misc,valid-type]
    """Dask worker plugin: one ``libclip.ImageEncoder`` per worker process.

    Registered by :func:`run_job` (``client.register_worker_plugin``), so every
    worker, including one that joins or is restarted later, gets its own
    instance. Encoders are opened on first use, after checking that the model
    on this machine has the job's fingerprint, shared by the worker's threads
    (libclip encoders are thread-safe) and closed at worker shutdown.
    """

    name = "libclip-image-encoders"

    def __init__(self) -> None:
        self._encoders: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()
        self.opens = 0

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to a worker empty: encoders and the lock belong to one process.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def teardown(self, worker: Any = None) -> None:
        encoders, self._encoders = self._encoders, {}
        for encoder in encoders.values():
            encoder.close()

    def get(self, spec: EncoderSpec) -> Any:
        """The encoder for ``spec``, opened the first time it is asked for."""
        with self._lock:
            encoder = self._encoders.get(spec.key())
            if encoder is None:
                found = model_fingerprint(spec.model)
                if found != spec.fingerprint:
                    raise RuntimeError(
                        f"{spec.model} on {socket.gethostname()} is not the job's model "
                        f"(fingerprint {found}, expected {spec.fingerprint}); "
                        "every worker must see the same model files"
                    )
                import libclip  # on the worker: needs LIBCLIP_PATH / PYTHONPATH there

                encoder = libclip.ImageEncoder(
                    spec.model, threads=spec.threads, normalize=spec.normalize, **dict(spec.options)
                )
                self._encoders[spec.key()] = encoder
                self.opens += 1
            return encoder


_LOCAL_CACHE = EncoderCache()


def _encoder_cache() -> EncoderCache:
    """The worker's plugin instance inside a Dask worker, else a per-process one
    (embed_shard called directly, e.g. from a test or another executor)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return _LOCAL_CACHE
    plugin = worker.plugins.get(EncoderCache.name)
    if plugin is None:
        raise RuntimeError(f"worker plugin {EncoderCache.name!r} is not registered; "
                           "call client.register_worker_plugin(EncoderCache()) first")
    return plugin


@dataclass(frozen=True)
class ShardTask:
    """One unit of work: embed one shard's paths and commit its files.

    ``fault`` is a testing hook that simulates a crash after the shard's
    temporary .npy is written and before it is renamed: ``"raise"`` fails the
    task (as a crashing program would, the temporary file is left behind);
    ``"exit-once"`` kills the worker process with ``os._exit`` the first time
    (a marker file in the job directory remembers it), as an OOM kill or a lost
    node would, and lets Dask's retry on another worker succeed.
    """

    job_dir: str
    shard: int
    paths: tuple[str, ...]
    encoder: EncoderSpec
    batch_size: int = 32
    fault: Optional[str] = None


def embed_paths(
    encoder: Any, paths: Sequence[str], batch_size: int
) -> tuple[np.ndarray, list[str], list[dict[str, Any]]]:
    """Embeds ``paths`` in batches of ``batch_size``, skipping images that fail.

    Each batch is one ``encode_each`` call: an image that cannot be read or
    decoded gets a NaN row and an error instead of failing its batch, and the
    good images' rows are those of a batch without the bad files.

    Returns:
        (float32 matrix of the embedded images' rows, their paths, failures as
        dicts with path, status, status_name and message), in input order.
    """
    blocks: list[np.ndarray] = []
    embedded: list[str] = []
    failures: list[dict[str, Any]] = []
    for start in range(0, len(paths), batch_size):
        batch = list(paths[start : start + batch_size])
        rows, errors = encoder.encode_each(batch)
        failed = {error.index for error in errors}
        good = [i for i in range(len(batch)) if i not in failed]
        blocks.append(np.asarray(rows, dtype=np.float32)[good])
        embedded.extend(batch[i] for i in good)
        failures.extend({"path": batch[e.index], "status": int(e.status), "status_name": e.status_name,
                         "message": e.message} for e in errors)
    matrix = np.concatenate(blocks) if blocks else np.empty((0, encoder.dim), dtype=np.float32)
    return matrix, embedded, failures


def embed_shard(task: ShardTask) -> dict[str, Any]:
    """Embeds one shard on a worker and commits its files (see the module
    docstring for the protocol). A shard that is already finished is left as
    it is. Images that fail are recorded in the shard record, not raised.

    Returns:
        A summary: shard, status ("done" or "already done"), embedded,
        failed, seconds, worker (host:pid).
    """
    import libclip

    layout = JobLayout(task.job_dir)
    worker_id = f"{socket.gethostname()}:{os.getpid()}"
    if layout.is_done(task.shard):
        return {"shard": task.shard, "status": "already done", "embedded": 0, "failed": 0,
                "seconds": 0.0, "worker": worker_id}
    started = time.perf_counter()
    cache = _encoder_cache()
    encoder = cache.get(task.encoder)
    matrix, embedded, failed = embed_paths(encoder, task.paths, task.batch_size)
    seconds = time.perf_counter() - started
    record = {
        "shard": task.shard,
        "inputs": len(task.paths),
        "embedded": len(embedded),
        "dim": int(encoder.dim),
        "failed": failed,
        "batch_size": task.batch_size,
        "libclip_threads": task.encoder.threads,
        "libclip_version": libclip.library_version(),
        "worker": worker_id,
        "encoder_opens_in_process": cache.opens,
        "seconds": round(seconds, 3),
    }
    # Companions first, the .npy last: its rename commits the shard.
    atomic_write_bytes(layout.paths(task.shard), encode_path_lines(embedded))
    atomic_write_bytes(layout.record(task.shard), (json.dumps(record, indent=1) + "\n").encode())
    final = layout.embeddings(task.shard)
    tmp = write_temp(final, lambda f: np.save(f, matrix, allow_pickle=False))
    if task.fault is not None:
        _inject_fault(task, layout)
    os.replace(tmp, final)
    sync_directory(layout.shards)
    return {"shard": task.shard, "status": "done", "embedded": len(embedded), "failed": len(failed),
            "seconds": seconds, "worker": worker_id}


def _inject_fault(task: ShardTask, layout: JobLayout) -> None:
    """The testing hook of :class:`ShardTask`."""
    if task.fault == "raise":
        raise RuntimeError(f"injected fault in shard {task.shard}")
    if task.fault == "exit-once":
        marker = layout.root / f"fault-exit-shard-{task.shard:06d}"
        try:
            with open(marker, "x", encoding="ascii") as f:
                f.write(f"{os.getpid()}\n")
        except FileExistsError:
            return
        os._exit(70)
    raise ValueError(f"unknown fault mode {task.fault!r}; expected one of {FAULT_MODES}")


# ---------------------------------------------------------------------------
# Driver.


@dataclass
class RunSummary:
    """What one run did. ``complete`` is true when every shard is finished."""

    n_shards: int
    already_done: int
    computed: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    embedded: int = 0
    failed_images: int = 0
    seconds: float = 0.0
    unfinished: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unfinished


def _cluster_threads(client: Any) -> int:
    """Total worker threads, from the client's cached scheduler info (no round trip)."""
    workers = client.scheduler_info().get("workers", {})
    return sum(int(w.get("nthreads", 1)) for w in workers.values())


def run_job(
    client: Any,
    job: Job,
    *,
    batch_size: int = 32,
    libclip_threads: int = 1,
    max_in_flight: Optional[int] = None,
    fault: Optional[tuple[int, str]] = None,
    log: Callable[[str], None] = _log,
) -> RunSummary:
    """Runs the unfinished shards of ``job`` on the Dask cluster of ``client``.

    At most ``max_in_flight`` shards are submitted at a time (default: twice
    the cluster's worker threads, re-read as workers come and go), so the
    scheduler never holds the paths of the whole job. A shard whose task fails
    is reported and left unfinished; the others go on. If the first three
    shards all fail, nothing else is submitted: the cause is most likely the
    same everywhere (model not readable on the workers, libclip not importable).

    Args:
        libclip_threads: OpenBLAS threads each worker process uses; with Dask
            threads per worker T and libclip threads L, a worker process keeps
            about T x L cores busy.
        fault: ``(shard, mode)``, the testing hook of :class:`ShardTask`.
    """
    from distributed import as_completed

    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    started = time.perf_counter()
    layout = job.layout
    removed = remove_stale_temps(layout.shards) + remove_stale_temps(layout.root)
    if removed:
        log(f"removed {removed} temporary file(s) left by an interrupted run")
    pending = job.pending()
    summary = RunSummary(n_shards=job.n_shards, already_done=job.n_shards - len(pending))
    log(f"{len(job.paths)} images in {job.n_shards} shards of {job.shard_size}: "
        f"{summary.already_done} finished before, {len(pending)} to do")
    if not pending:
        summary.seconds = time.perf_counter() - started
        return summary

    spec = EncoderSpec(
        model=job.manifest["model_path"],
        fingerprint=job.manifest["model_fingerprint"],
        threads=libclip_threads,
        normalize=bool(job.manifest["normalize"]),
        options=tuple(sorted(job.manifest["image_options"].items())),
    )
    client.register_worker_plugin(EncoderCache(), name=EncoderCache.name)
    if _cluster_threads(client) == 0:
        log("waiting for a worker to connect to the scheduler ...")
        client.wait_for_workers(1)
    run_token = secrets.token_hex(4)
    queue = iter(pending)
    in_flight: dict[str, tuple[int, Any]] = {}  # future key -> (shard, future)
    futures = as_completed()

    def submit_more() -> None:
        limit = max_in_flight or max(2, 2 * _cluster_threads(client))
        while len(in_flight) < limit:
            shard = next(queue, None)
            if shard is None:
                return
            task = ShardTask(
                job_dir=os.path.abspath(layout.root),
                shard=shard,
                paths=tuple(job.shard_paths(shard)),
                encoder=spec,
                batch_size=batch_size,
                fault=fault[1] if fault and fault[0] == shard else None,
            )
            future = client.submit(embed_shard, task, key=f"libclip-shard-{run_token}-{shard:06d}", pure=False)
            in_flight[future.key] = (shard, future)
            futures.add(future)

    submit_more()
    images_done = 0
    for future in futures:
        shard, _ = in_flight.pop(future.key)
        try:
            result = future.result()
        except Exception as e:  # noqa: BLE001 - any task error leaves the shard for the rerun
            summary.errors[shard] = f"{type(e).__name__}: {e}"
            log(f"shard {shard:06d} FAILED: {summary.errors[shard]}")
        else:
            summary.computed.append(shard)
            summary.embedded += result["embedded"]
            summary.failed_images += result["failed"]
            images_done += result["embedded"] + result["failed"]
            rate = images_done / max(time.perf_counter() - started, 1e-9)
            note = f", {result['failed']} failed" if result["failed"] else ""
            log(f"[{len(summary.computed) + len(summary.errors)}/{len(pending)}] shard {shard:06d}: "
                f"{result['embedded']} embedded{note} in {result['seconds']:.1f} s on {result['worker']} "
                f"({rate:.1f} images/s overall)")
        future.release()
        if len(summary.errors) >= 3 and not summary.computed:
            log("the first shards all failed; not submitting more (fix the error above and rerun)")
            client.cancel([f for _, f in in_flight.values()])
            break
        submit_more()
    summary.unfinished = job.pending()
    summary.seconds = time.perf_counter() - started
    return summary


# ---------------------------------------------------------------------------
# Command line.


def _parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Embed images with libclip on a Dask cluster, in resumable shards. "
        "Rerun the same command to finish an interrupted job; then run merge_shards.py JOB_DIR.",
        epilog="Exit status: 0 every shard finished, 1 some shards failed (rerun to retry them), "
        "2 usage error or a job directory holding another job.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="image files, directories (searched recursively for "
                        ".jpg/.jpeg/.png/.webp/.gif/.bmp) "
                        "or quoted glob patterns")
    parser.add_argument("--paths-from", metavar="FILE", help="read more image paths from FILE, one per line")
    parser.add_argument("--model", required=True, metavar="PATH",
                        help="CLIP checkpoint (HF directory or .safetensors file), at the same path on every worker")
    parser.add_argument("--out", required=True, metavar="JOB_DIR",
                        help="job directory for the manifest and the shards, shared by all workers")
    parser.add_argument("--shard-size", type=int, default=1000, metavar="N",
                        help="images per shard, the unit of work and of resumption (default 1000)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N",
                        help="images per libclip encode call inside a shard (default 32)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="Dask scheduler to use, e.g. tcp://10.0.0.1:8786 (default: start a LocalCluster)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="LocalCluster worker processes (default: one per core)")
    parser.add_argument("--threads-per-worker", type=int, default=1, metavar="N",
                        help="LocalCluster threads per worker process (default 1)")
    parser.add_argument("--libclip-threads", type=int, default=1, metavar="N",
                        help="OpenBLAS threads per worker process (default 1; see docs/scale-out.md)")
    parser.add_argument("--max-in-flight", type=int, metavar="N",
                        help="shards submitted at a time (default: twice the cluster's worker threads)")
    parser.add_argument("--dashboard", metavar="ADDRESS",
                        help="serve the LocalCluster dashboard there, e.g. :8787 (needs bokeh; default off)")
    parser.add_argument("--raw", action="store_true", help="store unnormalised embeddings")
    parser.add_argument("--exif-orientation", action="store_true",
                        help="apply EXIF orientation (the reference ignores it)")
    parser.add_argument("--max-image-pixels", type=int, metavar="N",
                        help="refuse larger images (libclip's default when not given)")
    args = parser.parse_args(argv)
    for name in ("shard_size", "batch_size", "workers", "threads_per_worker"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.libclip_threads < 0:
        parser.error("--libclip-threads must be 0 (leave OpenBLAS alone) or more")
    if not args.inputs and not args.paths_from:
        parser.error("no inputs: give image files, directories or patterns, or --paths-from")
    return args


@contextlib.contextmanager
def _client(args: argparse.Namespace) -> Iterator[Any]:
    """A client of the given scheduler, or of a LocalCluster started for this run."""
    from distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=args.workers, threads_per_worker=args.threads_per_worker,
                      processes=True, dashboard_address=args.dashboard) as cluster, Client(cluster) as client:
        yield client


def _check_model(model: str, options: dict[str, int]) -> None:
    """Opens the image encoder once on the driver, when the binding is
    importable there, so that an unreadable model fails before a job
    directory is created for it (the workers check again on their side)."""
    try:
        import libclip
    except ImportError:
        return
    try:
        libclip.ImageEncoder(model, **options).close()
    except libclip.ClipError as e:
        raise ValueError(f"cannot open the model: {e}") from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parse_args(argv)
    options: dict[str, int] = {}
    if args.exif_orientation:
        options["exif_orientation"] = 1
    if args.max_image_pixels is not None:
        options["max_image_pixels"] = args.max_image_pixels
    try:
        _check_model(args.model, options)
        paths = collect_inputs(args.inputs, args.paths_from)
        job = prepare_job(args.out, paths, args.model, args.shard_size,
                          normalize=not args.raw, image_options=options)
    except (InputError, JobMismatch, OSError, ValueError) as e:
        print(f"dask_embed: {e}", file=sys.stderr)
        return 2
    if not job.pending():
        _log(f"{job.layout.root}: all {job.n_shards} shards are finished; nothing to do")
        return 0
    with _client(args) as client:
        _log(f"Dask scheduler {client.scheduler.address}")
        summary = run_job(client, job, batch_size=args.batch_size, libclip_threads=args.libclip_threads,
                          max_in_flight=args.max_in_flight)
    _log(f"this run: {len(summary.computed)} shards, {summary.embedded} images embedded, "
         f"{summary.failed_images} failed, in {summary.seconds:.1f} s")
    if summary.complete:
        _log(f"all {summary.n_shards} shards finished; next: merge_shards.py {job.layout.root}")
        return 0
    for shard, error in list(summary.errors.items())[:10]:
        _log(f"  shard {shard:06d}: {error}")
    if len(summary.errors) > 10:
        _log(f"  ... and {len(summary.errors) - 10} more failed shards")
    _log(f"{len(summary.unfinished)} shard(s) unfinished; rerun the same command to retry them")
    return 1


if __name__ == "__main__":
    sys.exit(main())
