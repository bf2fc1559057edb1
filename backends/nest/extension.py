"""hippocam's own NEST cell model, ``hippocam_lif`` (``cells/hippocam_cells.cpp``), compiled on first use.

NEST's built-in cells reset to a value, and a spike reaches a current-based cell's membrane one step after the step
it arrives in: neither reset by subtraction nor a layer's own recurrent currents can keep refsim's timing with them.
``hippocam_lif`` runs refsim's discrete model in refsim's order (the source says how), with three receptors:
``delta`` (acts on V in the step of arrival), ``current`` (joins the current a step later, as IF_curr_exp's) and
``recurrent`` (joins the current in the step of arrival).

The module is compiled with the C++ compiler ``CXX`` names (default ``g++``, ``mpicxx`` for a NEST built with MPI;
C++20, as NEST 3.10's headers need) against the headers NEST ships, once per NEST build and source, into
``HIPPOCAM_NEST_CELLS_DIR`` (default ``~/.cache/hippocam/nest-cells``); about 5 s. Without a compiler the graphs that need it are refused in one line.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hippocam.errors import BackendError

MODEL = "hippocam_lif"
SOURCE = Path(__file__).with_name("cells") / "hippocam_cells.cpp"
#: receptor of each kind of synapse onto a ``MODEL`` cell (the C++ ``Receptor`` enum's names)
RECEPTORS = ("delta", "current", "recurrent")


def needs(graph) -> dict[str, str]:
    """The populations of a ``backends.graph.Graph`` that need ``MODEL``, each with why (for a refusal)."""
    from ..graph import CubaCells, DeltaCells
    why = {p.name: f"population {p.name}, which resets by subtraction," for p in graph.populations
           if isinstance(p, (DeltaCells, CubaCells)) and p.reset == "subtract"}
    for syn in graph.projections:
        if syn.latency_ms == 0 and syn.pre_pop == syn.post_pop:
            why.setdefault(syn.post_pop, f"population {syn.post_pop}, with recurrent weights onto its current,")
    return why


def install(nest, why: str) -> None:
    """Load ``MODEL`` into the running NEST kernel (compiled first if needed); ``why`` names what needs it, for the
    one-line BackendError when it cannot be had. A kernel reset unloads modules: call after every setup."""
    if MODEL in nest.node_models:
        return
    library = _library(nest, why)
    try:
        nest.Install(str(library.with_suffix("")))
    except Exception as err:   # NEST's loader errors are many lines; the first says what failed
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BackendError(f"nest: {why} needs hippocam's NEST cell model, which NEST could not load from "
                           f"{library} ({first}); delete that file to rebuild it, or run on brian2") from None


def _library(nest, why: str) -> Path:
    package = Path(nest.__file__).parent
    kernel = next(iter(sorted(package.glob("nestkernel_api*.so"))), None)
    include = package / "include" / "nest"
    if kernel is None or not (include / "nest_extension_interface.h").exists():
        raise BackendError(f"nest: {why} needs hippocam's NEST cell model, compiled against NEST's headers, which "
                           f"this NEST ({package}) does not ship; install NEST with pip ('.[nest]') or run on brian2")
    # one library per source and NEST build
    key = hashlib.sha256(SOURCE.read_bytes() + str(kernel.resolve()).encode() +
                         str(kernel.stat().st_mtime_ns).encode()).hexdigest()[:16]
    target = _cache_dir() / key / "hippocam_cells.so"
    if target.exists():
        return target
    # a NEST built with MPI includes mpi.h in its headers: its compiler wrapper knows where that is
    with_mpi = "#define HAVE_MPI 1" in (include / "config.h").read_text(errors="replace")
    compiler = os.environ.get("CXX", "mpicxx" if with_mpi else "g++")
    if shutil.which(compiler) is None:
        need = "the MPI compiler wrapper of the MPI NEST was built with (mpicxx)" if with_mpi else "g++ (10 or later)"
        raise BackendError(f"nest: {why} needs hippocam's NEST cell model, compiled on first use with a C++20 "
                           f"compiler; {compiler!r} was not found: install {need} or set CXX, or run on brian2")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # compiled to a temporary name and renamed: MPI ranks may build at once, and a half-written library never
        # loads
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    except OSError as err:
        raise BackendError(f"nest: {why} needs hippocam's NEST cell model, compiled into {target.parent}, which "
                           f"cannot be written ({err.strerror}); set HIPPOCAM_NEST_CELLS_DIR to a writable folder"
                           ) from None
    os.close(fd)
    cmd = [compiler, "-O2", "-std=c++20", "-shared", "-fPIC", f"-D_GLIBCXX_USE_CXX11_ABI={_cxx11_abi(kernel)}",
           f"-I{include}", f"-I{include.parent}", str(SOURCE), "-o", tmp, str(kernel), f"-Wl,-rpath,{package}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        os.unlink(tmp)
        errors = [line for line in done.stderr.splitlines() if "error" in line] or done.stderr.splitlines() or ["?"]
        raise BackendError(f"nest: {why} needs hippocam's NEST cell model, which {compiler} could not compile "
                           f"({errors[0].strip()}); use g++ 10 or later (CXX), or run on brian2")
    os.replace(tmp, target)
    return target


def _cxx11_abi(kernel: Path) -> int:
    """1 if NEST was built with libstdc++'s C++11 string ABI (a plain build), 0 if with the old one (pip's
    manylinux wheel): the module must match, as NEST's API passes std::string."""
    return int(b"install_moduleERKNSt7__cxx11" in kernel.read_bytes())   # nest::install_module(std::string const&)


def _cache_dir() -> Path:
    named = os.environ.get("HIPPOCAM_NEST_CELLS_DIR")
    if named:
        return Path(named)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hippocam" / "nest-cells"
