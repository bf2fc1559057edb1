"""Reading the files users give: one place for the ways it fails (text: scenarios, saved memories, profiles; numpy:
models, inputs, event files, the data cache)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from hippocam.errors import InputError


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of ``path``; InputError naming ``what`` the file should be and why it cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as err:
        raise InputError(f"cannot read {what} {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{path} is not a {what}: not UTF-8 text (byte {err.start} is {err.object[err.start]:#04x}); "
                         "save it as UTF-8") from None


#: what numpy raises on a .npy/.npz that is missing, empty, truncated or not numpy at all
NUMPY_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)
