"""Test tiers and a hermetic environment for every test file.

Tiers: ``python -m pytest -m "not slow"`` is the fast tier (under two minutes); ``python -m pytest`` runs the
whole suite and is the CI command (.ci/run). A test is marked ``slow`` when it took 2 s or more in a full run.

Extras: a test marked ``nest``, ``spinnaker`` or ``torch`` is skipped, naming the install line, when that optional
extra is not installed. A test parametrized with the value "nest" (a backend) is marked ``nest`` here: a decorator
cannot mark one parameter of a function without rewriting its parametrization.

Hermetic: matplotlib draws off-screen, NEST does not print its banner, and the event data cache
(``$HIPPOCAM_CACHE``) is a fresh folder per session, never the user's ``~/.cache/hippocam``. Data generation is
seeded, so a cold cache changes only the time a test takes.

To check the skips without uninstalling anything: ``HIPPOCAM_TEST_WITHOUT=nest,spinnaker,torch python -m pytest``
hides those extras from this process's imports, as if they were not installed.
"""
import importlib.abc
import importlib.util
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=DeprecationWarning)
# before any test module imports matplotlib or NEST: both read these once, at import
os.environ["MPLBACKEND"] = "Agg"
os.environ["PYNEST_QUIET"] = "1"

REPO = Path(__file__).resolve().parents[1]

#: marker -> (the import names of that extra, the reason a test without it is skipped)
EXTRAS = {
    "nest": (("nest", "pyNN.nest"), "needs the nest extra: pip install '.[nest]'"),
    "spinnaker": (("spynnaker", "pyNN.spiNNaker"), "needs the spinnaker extra: pip install '.[spinnaker]'"),
    "torch": (("torch",), "needs the train extra (torch): pip install '.[train]'"),
}

#: a parameter value that names a backend of an extra marks the test with that extra ("spinnaker-model" is numpy)
PARAM_EXTRAS = {"nest": "nest", "spinnaker": "spinnaker"}

HIDE_VAR = "HIPPOCAM_TEST_WITHOUT"

#: the session's cache folder and the HIPPOCAM_CACHE it replaced
_CACHE = pytest.StashKey()


class _Hidden(importlib.abc.MetaPathFinder):
    """Refuses to find the import names of the hidden extras, as an environment without them would."""

    def __init__(self, names):
        self.names = tuple(names)

    def find_spec(self, fullname, path=None, target=None):
        if any(fullname == n or fullname.startswith(n + ".") for n in self.names):
            raise ModuleNotFoundError(f"No module named {fullname!r} ({HIDE_VAR} hides it)", name=fullname)
        return None


def _hide_extras():
    wanted = [w.strip() for w in os.environ.get(HIDE_VAR, "").split(",") if w.strip()]
    unknown = sorted(set(wanted) - set(EXTRAS))
    if unknown:
        raise pytest.UsageError(f"{HIDE_VAR}: unknown extra {unknown[0]!r}; choose from {', '.join(EXTRAS)}")
    names = [n for w in wanted for n in EXTRAS[w][0]]
    loaded = sorted(n for n in names if n in sys.modules)
    if loaded:
        raise pytest.UsageError(f"{HIDE_VAR}: {loaded[0]} was imported before the conftest; it cannot be hidden")
    if names:
        sys.meta_path.insert(0, _Hidden(names))


_hide_extras()


def _installed(name):
    # presence only: an extra that is installed but broken must fail its tests, not skip them
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # its parent package is missing (or hidden)
        return False


class _RootIsNoTestPackage:
    """The repository root is the package hippocam, so it holds an ``__init__.py``: pytest would import it as a
    test package named after the checkout's folder, which fails (every test errors at setup) when that name is
    not an identifier, as in ``hippocam-main``, and imports a second copy of the package when it is."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path, parent):
        if path.resolve() == REPO:  # also when the checkout is reached through a symlink
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config):
    # a plugin, not a hook of this file: conftest hooks apply only below tests/, the root is above it
    config.pluginmanager.register(_RootIsNoTestPackage(), "hippocam-root-is-no-test-package")
    # a folder of our own, made before collection (a module may read the cache at import)
    folder = tempfile.mkdtemp(prefix="hippocam-test-cache-")
    config.stash[_CACHE] = (folder, os.environ.get("HIPPOCAM_CACHE"))
    os.environ["HIPPOCAM_CACHE"] = folder


def pytest_unconfigure(config):
    if _CACHE not in config.stash:
        return
    folder, before = config.stash[_CACHE]
    shutil.rmtree(folder)
    if before is None:
        os.environ.pop("HIPPOCAM_CACHE", None)
    else:
        os.environ["HIPPOCAM_CACHE"] = before


@pytest.hookimpl(tryfirst=True)  # before -m selects, so that -m "not nest" sees the markers added here
def pytest_collection_modifyitems(config, items):
    missing = {}
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for value in params.values():
            if isinstance(value, str) and value in PARAM_EXTRAS:
                item.add_marker(PARAM_EXTRAS[value])
        for extra, (names, reason) in EXTRAS.items():
            if item.get_closest_marker(extra) is None:
                continue
            if extra not in missing:
                missing[extra] = not all(_installed(n) for n in names)
            if missing[extra]:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path
