"""Where commands write, under one rule: an existing file is overwritten only with ``--force``, a results folder
is refused when it already holds files (unless ``--force``) and made when it does not exist, the folder a single
file goes into must exist; and every path is checked before the work whose results it will hold."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from hippocam.errors import InputError


def result_dir(name: str, out: str | None, force: bool = False) -> Path:
    """``out`` or a new ``results/NAME-YYYYmmdd-HHMMSS``; refuse a non-empty folder unless ``force``."""
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = Path("results") / f"{name}-{stamp}"
        n = 1
        while path.exists():
            n += 1
            path = Path("results") / f"{name}-{stamp}-{n}"
    else:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise InputError(f"--out {path} is a file, not a folder; name a folder")
        if path.exists() and any(path.iterdir()) and not force:
            raise InputError(f"--out {path} already holds files; choose another folder or pass --force "
                             "to overwrite them")
    return make_folder(path)


def make_folder(path: str | Path) -> Path:
    """Make ``path`` (and its parents) and check it can be written, before any long work whose results go there."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {path} is a file, not a folder; name a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file on the way, no permission, a read-only disk
        raise InputError(f"cannot make the results folder {path}: {err.strerror}; choose another --out") from None
    try:
        # a real write: os.access says yes to root on a read-only disk
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise InputError(f"cannot write into the results folder {path}: {err.strerror}; choose another --out") \
            from None
    return path


def check_writable_file(path: str | Path, force: bool) -> Path:
    """``path`` if a file can be written there (checked before the work whose result it will hold)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; name a file")
    if path.exists() and not force:
        raise InputError(f"{path} exists; choose another name or pass --force to overwrite it")
    if not path.parent.exists():
        raise InputError(f"folder {path.parent} does not exist; make it first or choose another path")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent} is a file, not a folder; choose another path")
    existed = path.exists()
    try:
        # a real open, not os.access, which says yes to root on a read-only disk or in /proc; appending nothing
        # leaves an existing file as it was
        with open(path, "ab"):
            pass
    except OSError as err:
        raise InputError(f"cannot write {path}: {err.strerror}; choose another path") from None
    if not existed:
        path.unlink()
    return path


def write_json(path: Path, data) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=1) + "\n")
    except OSError as err:  # checked before the run; a disk that filled up since still gets one line
        raise InputError(f"cannot write {path}: {err.strerror}") from None
