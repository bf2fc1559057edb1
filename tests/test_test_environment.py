"""The suite's own rules (tests/conftest.py, setup.cfg [tool:pytest]): the event data cache is this session's
folder, never the user's; a test that needs a missing extra is skipped naming the install line; markers are
strict; a checkout whose folder name is not an identifier still runs its tests."""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from hippocam.event_models.data import cache

REPO = Path(__file__).resolve().parents[1]


def test_the_data_cache_is_this_sessions_folder_not_the_users():
    folder = cache.cache_dir().resolve()
    users = [Path.home() / ".cache", Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))]
    assert not any(u.resolve() in folder.parents for u in users), folder
    assert Path(tempfile.gettempdir()).resolve() in folder.parents
    assert folder.parent == Path(os.environ["HIPPOCAM_CACHE"]).resolve()


# -- a small project with this suite's conftest and pytest settings, in a folder named like a clone --------------
INNER_TESTS = '''
import pytest


@pytest.mark.nest
def test_marked():
    import nest  # noqa: F401


@pytest.mark.parametrize("backend", ["brian2", "nest"])
def test_param(backend):
    if backend == "nest":
        import pyNN.nest  # noqa: F401


def test_plain():
    pass
'''


def pytest_settings() -> str:
    text = (REPO / "setup.cfg").read_text()
    section = re.search(r"^\[tool:pytest\]\n(?:(?!^\[).*\n?)*", text, re.M)
    assert section, "setup.cfg has no [tool:pytest] section"
    return section.group(0)


def inner_project(tmp_path) -> Path:
    # not an identifier: pytest used to import such a root as a test package and fail every test at setup
    root = tmp_path / "hippocam-main"
    (root / "tests").mkdir(parents=True)
    (root / "__init__.py").write_text("from .errors import Oops  # noqa: F401\n")
    (root / "errors.py").write_text("class Oops(Exception):\n    pass\n")
    (root / "setup.cfg").write_text(pytest_settings())
    (root / "tests" / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    (root / "tests" / "test_extras.py").write_text(INNER_TESTS)
    return root


def run_inner(root, *args, hide=""):
    env = {k: v for k, v in os.environ.items() if k not in ("HIPPOCAM_TEST_WITHOUT", "PYTEST_ADDOPTS")}
    if hide:
        env["HIPPOCAM_TEST_WITHOUT"] = hide
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_a_missing_extra_skips_with_its_install_line_and_its_marker_selects(tmp_path):
    root = inner_project(tmp_path)
    code, out = run_inner(root, hide="nest")
    assert code == 0, out
    assert "2 passed, 2 skipped" in out, out
    assert out.count("needs the nest extra: pip install '.[nest]'") == 2, out
    code, out = run_inner(root, "-m", "not nest")  # the parameter "nest" is marked before -m selects
    assert code == 0 and "2 passed, 2 deselected" in out, out


def test_an_unregistered_marker_is_an_error(tmp_path):
    root = inner_project(tmp_path)
    (root / "tests" / "test_typo.py").write_text("import pytest\n\n\n@pytest.mark.slwo\ndef test_x():\n    pass\n")
    code, out = run_inner(root, "tests/test_typo.py")
    assert code != 0 and "'slwo' not found in `markers`" in out, out


def test_hiding_an_unknown_extra_is_refused(tmp_path):
    root = inner_project(tmp_path)
    code, out = run_inner(root, hide="neuron")
    assert code != 0 and "unknown extra 'neuron'" in out, out
