"""Where commands write, under one rule: an existing file is overwritten only with ``--force``, a results folder
is refused when it already holds files (unless ``--force``) and made when it does not exist, the folder a single
file goes into must exist; and every path is checked before the work whose results it will hold."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from hippocam.backends import mpi
from hippocam.errors import InputError

#: the options that name a file or folder a command writes (each command has some of them)
OUTPUT_OPTIONS = ("out", "json", "save")


def quiet_other_ranks() -> None:
    """Under MPI, ranks other than 0 print nothing (their answers are rank 0's); a crash still shows, named by rank."""
    if mpi.is_root():
        return
    import sys
    import traceback

    def excepthook(kind, value, tb):
        sys.__stderr__.write(f"rank {mpi.rank()}: " + "".join(traceback.format_exception(kind, value, tb)))
    sys.excepthook = excepthook
    sys.stdout = sys.stderr = open(os.devnull, "w")


def plain_warnings() -> None:
    """hippocam's own warnings (a unit that looks wrong, a type check skipped) as one line each, as its errors are;
    other libraries' warnings keep Python's form, which names their source."""
    import warnings
    shown = warnings.showwarning
    if getattr(shown, "hippocam", False):     # once per process, however often ``main`` runs
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if f"{os.sep}hippocam{os.sep}" in str(filename):
            import sys
            print(f"hippocam: warning: {message}", file=file or sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)
    show.hippocam = True
    warnings.showwarning = show


def other_ranks_aside(args) -> None:
    """Under MPI, ranks other than 0 write into a private temporary folder (removed at exit): the output options
    ``args`` gives are pointed there. Rank 0 checks the real paths for all (``_agreed``)."""
    if mpi.is_root():
        return
    for option in OUTPUT_OPTIONS:
        given = getattr(args, option, None)
        if given:
            setattr(args, option, str(_private(given)))


def _private(path, folder: bool = False) -> Path:
    """The twin of ``path`` in this rank's private folder (made with its first use)."""
    global _PRIVATE
    if _PRIVATE is None:
        import atexit
        import shutil
        import tempfile
        _PRIVATE = Path(tempfile.mkdtemp(prefix=f"hippocam-rank{mpi.rank()}-"))
        atexit.register(shutil.rmtree, _PRIVATE, ignore_errors=True)
    twin = _PRIVATE / Path(path).name
    if folder:
        twin.mkdir(exist_ok=True)
    return twin


_PRIVATE: Path | None = None


def _agreed(check, folder: bool):
    """``check`` run by rank 0 alone: its answer (a path) or its error on every rank, so that no rank goes on
    alone; other ranks get the path's private twin (``_private``)."""
    def agreed(*args, **kwargs):
        found = mpi.on_root(check, *args, **kwargs)
        return found if mpi.is_root() else _private(found, folder)
    agreed.__doc__ = check.__doc__
    return agreed


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
    return _make_folder(path)


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


_make_folder = make_folder   # result_dir's own: already agreed on
result_dir, make_folder = _agreed(result_dir, folder=True), _agreed(make_folder, folder=True)
check_writable_file = _agreed(check_writable_file, folder=False)


def write_json(path: Path, data) -> None:
    try:
        Path(path).write_text(json.dumps(data, indent=1) + "\n")
    except OSError as err:  # checked before the run; a disk that filled up since still gets one line
        raise InputError(f"cannot write {path}: {err.strerror}") from None
