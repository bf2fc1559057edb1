"""Where experiments write: a results folder that never overwrites what the user saved."""
from __future__ import annotations

import json
import os
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
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into the results folder {path}; choose another --out")
    return path


def check_writable_file(path: str | Path, force: bool) -> Path:
    """``path`` if a file can be written there (checked before the work whose result it will hold)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder; name a file")
    if path.exists() and not force:
        raise InputError(f"{path} exists; choose another name or pass --force to overwrite it")
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist; make it first or choose another path")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into folder {path.parent}; choose another path")
    return path


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")
