"""Where generated data sets are cached: never inside the repository.

Order: an explicit folder, else ``$HIPPOCAM_CACHE``, else ``$XDG_CACHE_HOME/hippocam``, else ``~/.cache/hippocam``.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from hippocam import files
from hippocam.errors import InputError

#: bump when a generator changes, so stale caches are not reused
DATA_VERSION = 1


def cache_dir(folder: str | os.PathLike | None = None) -> Path:
    """The data cache folder (created on demand)."""
    if folder is None:
        folder = os.environ.get("HIPPOCAM_CACHE")
    if folder is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "hippocam")
    path = Path(folder) / "event_models"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the data cache {path}: {err.strerror}; "
                         "choose another folder with --data-dir or $HIPPOCAM_CACHE") from None
    return path


def key(name: str, params: dict) -> str:
    """A file name that changes whenever the generator's parameters or version change."""
    text = json.dumps({"v": DATA_VERSION, **params}, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha1(text.encode()).hexdigest()[:12]}.npz"


def cached(name: str, params: dict, build, folder=None) -> dict[str, np.ndarray]:
    """Load ``name`` from the cache, or ``build()`` it (a dict of arrays) and store it."""
    path = cache_dir(folder) / key(name, params)
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except files.NUMPY_ERRORS:
            path.unlink(missing_ok=True)  # a truncated cache file (interrupted run) is rebuilt
    arrays = build()
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # MPI ranks build the same file at once
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file
    return arrays
