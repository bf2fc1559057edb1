"""hippocam's own NEST cell model, ``hippocam_lif`` (``cells/hippocam_cells.cpp``), compiled on first use.

NEST's built-in cells reset to a value, and a spike reaches a current-based cell's membrane one step after the step
it arrives in: neither reset by subtraction nor a layer's own recurrent currents can keep refsim's timing with them.
Nor do they compute refsim's numbers to the bit where they convert them: a current's weight into a jump in nA and
back through exact integration, a per-step decay into tau_m and back (``needs``).
``hippocam_lif`` runs refsim's discrete model in refsim's order (the source says how), with three receptors:
``delta`` (acts on V in the step of arrival), ``current`` (joins the current a step later, as IF_curr_exp's) and
``recurrent`` (joins the current in the step of arrival).

The module is compiled with the C++ compiler ``CXX`` names (default ``g++``, ``mpicxx`` for a NEST built with MPI;
C++20, as NEST 3.10's headers need) against the headers NEST ships, once per NEST build and source, into
``HIPPOCAM_NEST_CELLS_DIR`` (default ``~/.cache/hippocam/nest-cells``); about 5 s. Without a compiler the graphs
that need it are refused in one line.
"""
from __future__ import annotations

import hashlib
import os
import shlex
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
    """The populations of a ``backends.graph.Graph`` that ``cells_need`` the model, each with why."""
    why = {p.name: cells_need(p, graph.timestep_ms) for p in graph.populations}
    return {name: reason for name, reason in why.items() if reason}


def cells_need(cells, timestep_ms: float) -> str | None:
    """Why NEST's built-in models cannot be ``cells`` (``DeltaCells``, ``CubaCells``) to the bit (for a refusal), or
    None: they reset by subtraction; they are current-based (``iaf_psc_exp`` takes a current jump in nA and
    integrates it exactly, which gives refsim's numbers only to rounding, and a layer's own spikes would reach its
    current a step late); or their per-step decay is one that exp(-dt/tau_m) does not give back."""
    import math

    from ..graph import CubaCells, DeltaCells
    if not isinstance(cells, (DeltaCells, CubaCells)):
        return None
    if cells.reset == "subtract":
        return f"population {cells.name}, which resets by subtraction,"
    if isinstance(cells, CubaCells):
        return f"population {cells.name}, a layer with a synaptic current,"
    if cells.v_decay is not None and math.exp(-timestep_ms / cells.tau_m_ms) != cells.v_decay:
        return f"population {cells.name}, whose leak iaf_psc_delta gives only to rounding,"
    return None


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
        raise _refusal(why, f"which NEST could not load from {library} ({first}); delete that file to rebuild it, "
                            "or run on brian2") from None


def _refusal(why: str, rest: str) -> BackendError:
    return BackendError(f"nest: {why} needs hippocam's NEST cell model, {rest}")


def _library(nest, why: str) -> Path:
    """The compiled model for this NEST: from the cache, or compiled into it."""
    package = Path(nest.__file__).parent
    kernel = next(iter(sorted(package.glob("nestkernel_api*.so"))), None)
    include = _headers(package)
    if kernel is None or include is None:
        raise _refusal(why, f"compiled against NEST's headers, which this NEST ({package}) has neither beside it "
                            "nor where nest-config says; use pip's NEST ('.[nest]') or a NEST installed with its "
                            "headers, or run on brian2")
    if not SOURCE.exists():
        raise _refusal(why, f"whose source {SOURCE} is missing from this installation; reinstall hippocam")
    # one library per source and NEST build
    key = hashlib.sha256(SOURCE.read_bytes() + str(kernel.resolve()).encode() +
                         str(kernel.stat().st_mtime_ns).encode()).hexdigest()[:16]
    target = _cache_dir() / key / "hippocam_cells.so"
    if not target.exists():
        _compile(why, include, kernel, target)
    return target


def _headers(package: Path) -> Path | None:
    """NEST's header folder: in the Python package (pip's wheels), else under the prefix nest-config names."""
    candidates = [package / "include" / "nest"]
    if shutil.which("nest-config"):
        try:
            prefix = subprocess.run(["nest-config", "--prefix"], capture_output=True, text=True, timeout=30)
            candidates.append(Path(prefix.stdout.strip()) / "include" / "nest")
        except (OSError, subprocess.SubprocessError):
            pass
    return next((c for c in candidates if (c / "nest_extension_interface.h").exists()), None)


def _compile(why: str, include: Path, kernel: Path, target: Path) -> None:
    # a NEST built with MPI includes mpi.h in its headers: its compiler wrapper knows where that is
    with_mpi = "#define HAVE_MPI 1" in (include / "config.h").read_text(errors="replace")
    compiler = shlex.split(os.environ.get("CXX") or ("mpicxx" if with_mpi else "g++"))
    if not compiler or shutil.which(compiler[0]) is None:
        need = "the MPI compiler wrapper of the MPI NEST was built with (mpicxx)" if with_mpi else "g++ (10 or later)"
        raise _refusal(why, f"compiled on first use with a C++20 compiler; {' '.join(compiler)!r} was not found: "
                            f"install {need} or set CXX, or run on brian2")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # compiled to a temporary name and renamed: MPI ranks may build at once, and a half-written library never
        # loads
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
    except OSError as err:
        raise _refusal(why, f"compiled into {target.parent}, which cannot be written ({err.strerror}); set "
                            "HIPPOCAM_NEST_CELLS_DIR to a writable folder") from None
    cmd = [*compiler, "-O2", "-std=c++20", "-shared", "-fPIC", f"-D_GLIBCXX_USE_CXX11_ABI={_cxx11_abi(kernel)}",
           f"-I{include}", f"-I{include.parent}", str(SOURCE), "-o", tmp, str(kernel),
           f"-Wl,-rpath,{kernel.parent}"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            lines = done.stderr.splitlines()
            first = next((line for line in lines if "error" in line), lines[0] if lines else
                         f"exit status {done.returncode}, no message")
            raise _refusal(why, f"which {' '.join(compiler)} could not compile ({first.strip()}); use g++ 10 or "
                                "later (CXX), or run on brian2")
        os.chmod(tmp, 0o755)       # mkstemp made it 0600: others sharing the folder must load it too
        os.replace(tmp, target)
    except (OSError, subprocess.SubprocessError) as err:
        raise _refusal(why, f"which {' '.join(compiler)} could not build into {target.parent} ({err}); check the "
                            "compiler (CXX) and the folder (HIPPOCAM_NEST_CELLS_DIR), or run on brian2") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cxx11_abi(kernel: Path) -> int:
    """1 if NEST was built with libstdc++'s C++11 string ABI (a plain build), 0 if with the old one (pip's
    manylinux wheel): the module must match, as NEST's API passes std::string."""
    return int(b"install_moduleERKNSt7__cxx11" in kernel.read_bytes())   # nest::install_module(std::string const&)


def _cache_dir() -> Path:
    named = os.environ.get("HIPPOCAM_NEST_CELLS_DIR")
    if named:
        return Path(named)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hippocam" / "nest-cells"
