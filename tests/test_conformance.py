"""One table, every engine: the same scenarios agree with the oracle on Brian2, NEST and the SpiNNaker
model, and map on a virtual SpiNNaker board."""
import json

import pytest

from hippocam.experiments.cli import main


@pytest.mark.spinnaker
@pytest.mark.nest
@pytest.mark.slow
def test_conformance_matrix_on_every_backend(tmp_path, capsys):
    out = tmp_path / "conf"
    assert main(["conformance", "--quick", "--out", str(out), "--check"]) == 0
    result = json.loads((out / "result.json").read_text())
    matrix = result["matrix"]
    assert set(matrix) == {"brian2", "nest", "spinnaker", "spinnaker-model"}
    for backend in ("brian2", "nest", "spinnaker-model"):
        cells = matrix[backend]
        assert set(cells) == {"functional", "pyramidal 5x10", "random 5x10", "random 16x6"}
        for name, cell in cells.items():
            assert cell["mode"] == "simulated"
            assert cell["correct"] == cell["total"] > 0, (backend, name, cell["wrong_ops"])
    for cell in matrix["spinnaker"].values():
        assert cell["mode"] == "map only" and cell["cores"] >= 9 and cell["chips"] >= 1
    assert result["agreed"] == result["total"] == 3 * (9 + 60 + 300 + 300)
    printed = capsys.readouterr().out
    assert "| spinnaker-model |" in printed and "mapped:" in printed
