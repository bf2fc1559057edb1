"""The NEST backend on 2 MPI ranks (``mpirun -np 2``) against the oracle, the reference SNN and 1 process.

Runs where NEST was built with MPI and mpirun and mpi4py are installed (CI: a second environment, .ci/run);
skipped with the reason elsewhere. Every command runs under ``timeout``: a rank that hangs fails the test.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hippocam.cam import scenario, workloads

#: the hippocam command, whatever entry scripts the environment has
HIPPOCAM = [sys.executable, "-c", "import sys; from hippocam.experiments.cli import main; sys.exit(main())"]
TIMEOUT_S = 600


@functools.cache
def _missing() -> str | None:
    """Why these tests cannot run here, or None."""
    if shutil.which("mpirun") is None:
        return "needs mpirun (Debian: apt-get install openmpi-bin libopenmpi-dev)"
    for module, fix in (("nest", "pip install '.[nest]'"), ("mpi4py", "pip install '.[mpi]'")):
        if importlib.util.find_spec(module) is None:
            return f"needs {module}: {fix}"
    probe = subprocess.run([sys.executable, "-c", "import nest; print(nest.build_info['have_mpi'])"],
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYNEST_QUIET": "1"})
    if probe.stdout.strip().splitlines()[-1:] != ["True"]:
        return "needs a NEST built with MPI (README, Scale-out); the installed one has none"
    return None


@pytest.fixture
def mpi_nest():
    reason = _missing()
    if reason:
        pytest.skip(reason)


#: a test that runs hippocam on 2 ranks
on_ranks = [pytest.mark.nest, pytest.mark.slow, pytest.mark.usefixtures("mpi_nest")]


def _ranks(func):
    for mark in reversed(on_ranks):
        func = mark(func)
    return func


# -- rank facts, in one process ---------------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [({"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4"}, (1, 4)),
                                           ({"PMI_RANK": "3", "PMI_SIZE": "8"}, (3, 8)),
                                           ({"PMIX_RANK": "0", "PMIX_SIZE": "2"}, (0, 2)),
                                           ({}, (0, 1))])
def test_rank_and_size_come_from_the_launcher(env, expected, monkeypatch):
    from hippocam.backends import mpi
    for var in ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE", "PMIX_RANK", "PMIX_SIZE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert (mpi.rank(), mpi.size()) == expected
    assert mpi.is_root() == (expected[0] == 0)


def test_a_rank_other_than_0_writes_into_its_own_folder(monkeypatch, tmp_path):
    import argparse
    from hippocam.experiments import output
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setattr(output, "_PRIVATE", None)
    args = argparse.Namespace(out=str(tmp_path / "res"), json=None, scenario="ops.json")
    output.other_ranks_aside(args)
    private = Path(args.out)
    assert private.name == "res" and tmp_path not in private.parents
    assert private.parent.name.startswith("hippocam-rank1-")
    assert args.json is None and args.scenario == "ops.json"
    shutil.rmtree(private.parent)


def test_rank_0_keeps_its_paths(monkeypatch, tmp_path):
    import argparse
    from hippocam.experiments import output
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    args = argparse.Namespace(out=str(tmp_path / "res"))
    output.other_ranks_aside(args)
    assert args.out == str(tmp_path / "res")


# -- hippocam on 2 ranks ----------------------------------------------------------------------------------


def mpirun(n: int, args: list[str], cwd: Path, timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """``hippocam ARGS`` on ``n`` ranks (1: a plain process), bounded by ``timeout`` (exit 124 if it hangs)."""
    launcher = [] if n == 1 else ["mpirun", "--allow-run-as-root", "--oversubscribe", "-q", "-np", str(n)]
    return subprocess.run(["timeout", str(timeout_s), *launcher, *HIPPOCAM, *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYNEST_QUIET": "1"})


def _answers(result: dict) -> list[tuple]:
    return [(o["op"], o["at_ms"], o["cues"], o["content"]) for o in result["operations"]]


WORKLOADS = {"functional": (5, 10, workloads.functional),
             "random 5x10": (5, 10, lambda: workloads.random_workload(5, 10, 300, 0)),
             "random 16x6": (16, 6, lambda: workloads.random_workload(16, 6, 300, 0)),
             "random 32x32": (32, 32, lambda: workloads.random_workload(32, 32, 300, 0))}


@_ranks
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_cam_on_two_ranks_agrees_with_the_oracle_and_one_process(name, tmp_path):
    c, k, make = WORKLOADS[name]
    ops = make()
    (tmp_path / "ops.json").write_text(json.dumps(scenario.dump(c, k, ops)))
    results = {}
    for n in (1, 2):
        run = mpirun(n, ["cam", "run", "ops.json", "--backend", "nest", "--check", "--out", f"out{n}.json"], tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        results[n] = json.loads((tmp_path / f"out{n}.json").read_text())
    assert results[2]["total"] == len(ops)
    wrong = [o for o in results[2]["operations"] if o["cues"] != o["expected"]["cues"]
             or o["content"] != o["expected"]["content"]]
    assert wrong == []
    assert _answers(results[2]) == _answers(results[1])


@_ranks
def test_several_memories_in_one_process_on_two_ranks(tmp_path):
    # one process builds five memories in turn: NEST's kernel is reset between them (docs/toolchain.md)
    run = mpirun(2, ["conformance", "--backends", "nest", "--check", "--out", "c"], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads((tmp_path / "c" / "result.json").read_text())
    assert result["total"] == 9 + 60 + 3 * 300 and result["agreed"] == result["total"]


@_ranks
def test_only_rank_zero_prints_and_writes(tmp_path):
    run = mpirun(2, ["run", "functional", "--backend", "nest", "--check"], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("9/9 operations agree with the oracle") == 1
    folders = list((tmp_path / "results").iterdir())
    assert len(folders) == 1 and (folders[0] / "result.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


@_ranks
def test_backends_names_mpi_and_ranks(tmp_path):
    run = mpirun(2, ["backends"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("MPI, 2 ranks running") == 1


def _left_behind(marker: str) -> list[str]:
    """Processes whose command line holds ``marker`` (a test's own folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name.isdigit() and marker in cmd and int(proc.name) != os.getpid():
            found.append(cmd)
    return found


@_ranks
@pytest.mark.parametrize("args", [["cam", "run", "{tmp}/missing.json", "--backend", "nest"],
                                  ["run", "functional", "--backend", "nest", "--out", "{tmp}/full"],
                                  ["event", "evaluate", "digits-cnn", "--backend", "nest", "--timesteps", "8",
                                   "--samples", "0", "--json", "{tmp}/e.json"]],
                         ids=["missing scenario", "output folder not empty", "bad --samples"])
def test_bad_input_on_two_ranks_exits_2_with_one_line(args, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("the user's")
    run = mpirun(2, [a.format(tmp=tmp_path) for a in args], tmp_path, timeout_s=120)
    assert run.returncode == 2, (run.returncode, run.stderr[-2000:])
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hippocam: error: "), run.stderr
    assert _left_behind(str(tmp_path)) == []
    assert (tmp_path / "full" / "keep.txt").read_text() == "the user's"


@_ranks
def test_event_evaluate_on_two_ranks_equals_one_process_and_the_reference(tmp_path):
    results = {}
    for n in (1, 2):
        run = mpirun(n, ["event", "evaluate", "digits-cnn", "--backend", "nest", "--timesteps", "8",
                         "--samples", "100", "--json", f"e{n}.json"], tmp_path)
        assert run.returncode == 0, run.stderr[-2000:]
        results[n] = json.loads((tmp_path / f"e{n}.json").read_text())
    one, two = results[1], results[2]
    # agreement is the share of samples whose prediction equals the reference SNN's: 1.0 on both means the
    # same prediction for every sample
    assert two["samples"] == 100 and two["agreement"] == 1.0 and one["agreement"] == 1.0
    assert two["accuracy"] == one["accuracy"] == two["reference_accuracy"]
    assert two["spikes_per_sample"] == one["spikes_per_sample"] == two["reference_spikes_per_sample"]
    assert all(two["layers_spike_exact"])


@_ranks
def test_a_subtracting_nir_graph_on_two_ranks_reproduces_snntorch(tmp_path):
    """hippocam's own NEST cell model (compiled with mpicxx against the MPI NEST) on 2 ranks: snnTorch's spikes, every
    layer and step, as on one process."""
    data = Path(__file__).parent / "data"
    fixture = np.load(data / "snntorch_lif_subtract.npz")
    np.save(tmp_path / "x.npy", fixture["input"])
    run = mpirun(2, ["nir", "run", str(data / "snntorch_lif_subtract.nir"), "--input", "x.npy", "--dt-ms", "0.1",
                     "--time-unit", "s", "--reset", "subtract", "--backend", "nest", "--out", "n.npz"], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    got = np.load(tmp_path / "n.npz")
    for key in ("spikes/1", "spikes/3"):
        np.testing.assert_array_equal(got[key], fixture[key])
