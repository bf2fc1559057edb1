"""The package's shape, read from the source tree (no import, no import-linter): every folder with an
``__init__.py`` is a package setup.cfg installs and every package it lists is such a folder; no module is over
500 lines; the lower layers import nothing from the layers above them (the README's layers; lint-imports checks
the same on the installed package in CI)."""
import ast
import configparser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOT = "hippocam"
MAX_LINES = 500
#: folders of the checkout that are not part of the package (dot folders such as .venv or .git are skipped too)
NOT_PACKAGE = {"tests", "benchmarks", "docs", "build", "dist", "__pycache__"}

#: layer -> the packages it must not import (README, Layout: experiments -> cam | event_models -> backends -> errors)
LOWER_LAYERS = {
    "backends": ("cam", "event_models", "experiments"),
    "event_models": ("cam", "experiments"),
    "errors": ("cam", "event_models", "experiments", "backends"),
}


def package_folders() -> dict[str, Path]:
    """Dotted name -> folder, for the root and every folder below it that holds an ``__init__.py``."""
    found = {ROOT: REPO}
    for init in REPO.rglob("__init__.py"):
        rel = init.parent.relative_to(REPO)
        if rel.parts and (rel.parts[0] in NOT_PACKAGE or rel.parts[0].endswith(".egg-info")
                          or any(p.startswith(".") or p == "__pycache__" for p in rel.parts)):
            continue
        if rel.parts:
            found[".".join((ROOT, *rel.parts))] = init.parent
    return found


def setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return cfg


def listed_packages() -> set[str]:
    return {line.strip() for line in setup_cfg()["options"]["packages"].splitlines()
            if line.strip() and not line.strip().startswith("#")}


def test_setup_cfg_maps_the_repository_root_to_the_package():
    mapping = {k.strip(): v.strip() for k, v in (line.split("=") for line in
               setup_cfg()["options"]["package_dir"].splitlines() if "=" in line)}
    assert mapping == {ROOT: "."}


def test_every_package_folder_is_installed_and_every_installed_package_is_a_folder():
    folders = set(package_folders())
    listed = listed_packages()
    assert folders - listed == set(), "folders with an __init__.py that setup.cfg [options] packages does not list"
    assert listed - folders == set(), "packages setup.cfg lists that are no folder with an __init__.py"


def package_modules() -> list[Path]:
    return sorted(p for folder in package_folders().values() for p in folder.glob("*.py"))


def test_no_module_is_over_500_lines():
    modules = package_modules()
    assert len(modules) > 20, "the walk found too few modules to mean anything"
    long = {str(p.relative_to(REPO)): n for p in modules if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these modules along their seams (at most {MAX_LINES} lines each): {long}"


def imported_modules(path: Path, dotted: str) -> set[str]:
    """Every module a file imports, absolute, wherever the import stands (a function body included), plus
    ``importlib.import_module("...")`` and ``__import__("...")`` with a literal name."""
    is_package = path.name == "__init__.py"
    package = dotted.split(".") if is_package else dotted.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__"):
                names.add(node.args[0].value)
    return names


def layer_modules(layer: str) -> dict[Path, str]:
    """Each module of ``hippocam.<layer>`` (a package or one module) with its dotted name."""
    found = {}
    for name, folder in package_folders().items():
        if name == f"{ROOT}.{layer}" or name.startswith(f"{ROOT}.{layer}."):
            for p in folder.glob("*.py"):
                found[p] = name if p.name == "__init__.py" else f"{name}.{p.stem}"
    single = REPO / f"{layer}.py"
    if single.exists():
        found[single] = f"{ROOT}.{layer}"
    return found


def test_the_import_walk_resolves_relative_and_lazy_imports(tmp_path):
    # the walk itself, on a module written here: were it to miss an import, the layer test below would pass
    pkg = tmp_path / "backends"
    pkg.mkdir()
    mod = pkg / "spinnaker.py"
    mod.write_text("from ..cam import network\nfrom . import graph\n\ndef f():\n    import hippocam.experiments.cli\n"
                   "    return importlib.import_module('hippocam.event_models.zoo')\n")
    got = imported_modules(mod, "hippocam.backends.spinnaker")
    assert {"hippocam.cam", "hippocam.cam.network", "hippocam.backends.graph", "hippocam.experiments.cli",
            "hippocam.event_models.zoo"} <= got


@pytest.mark.parametrize("layer", sorted(LOWER_LAYERS))
def test_a_lower_layer_imports_nothing_from_the_layers_above(layer):
    modules = layer_modules(layer)
    assert modules, f"no modules found for {ROOT}.{layer}"
    above = LOWER_LAYERS[layer]
    # old top-level names ("import cam") count too: they would import a second copy, or fail once installed
    forbidden = tuple(f"{ROOT}.{a}" for a in above) + above
    wrong = []
    for path, dotted in sorted(modules.items()):
        hits = {n for n in imported_modules(path, dotted) if any(n == f or n.startswith(f + ".") for f in forbidden)}
        # "from hippocam.cam import network" yields hippocam.cam and hippocam.cam.network: name the first only
        wrong += [f"{path.relative_to(REPO)} imports {n}" for n in sorted(hits)
                  if not any(n.startswith(h + ".") for h in hits)]
    assert wrong == [], f"{ROOT}.{layer} must not import {', '.join(above)}:\n" + "\n".join(wrong)


def readme_layout_paths() -> set[str]:
    """The paths the README's Layout table names in its first column (`path`, folders with a trailing slash)."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Layout"):]
    paths = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            for cell in line.split("|")[1].split(","):
                cell = cell.strip().strip("`")
                if cell:
                    paths.add(cell)
    return paths


def test_the_readme_layout_table_names_every_package_and_root_module():
    named = readme_layout_paths()
    folders = {str(p.relative_to(REPO)) + "/" for name, p in package_folders().items() if name != ROOT}
    # a subpackage counts as named when its parent folder's row is there and names it, or it has its own row
    missing = sorted(f for f in folders if f not in named)
    root_modules = sorted(p.name for p in REPO.glob("*.py"))
    assert missing == [], "package folders without a row in README's Layout table"
    assert [m for m in root_modules if m not in named] == [], "root modules of the package without a row"
    gone = sorted(p for p in named if not (REPO / p.rstrip("/")).exists() and "/" in p.rstrip("/") + "/")
    assert gone == [], "rows in README's Layout table for paths that do not exist"
