"""Figures and the report explain themselves: the raster's legend, axes and population names, the report's
population table, and axis scales that suit the data (issue 12, item 5)."""
import re
from types import SimpleNamespace

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest

from hippocam.cam import network, profile
from hippocam.experiments import capacity, plots, populations, report


class FakeMemory:
    """What ``plots.raster_figure`` reads from a Memory: sizes, the simulated time and spike trains."""

    def __init__(self, c, k):
        self.cue_size, self.content_size, self.now_ms = c, k, 30.0
        sizes = {p.name: p.size for p in network.build_spec(c, k, profile.load("brian2")).populations}
        # every neuron spikes once, at a time that is its index, so each row can be found by its mark
        self.trains = {name: [np.array([1.0 + i]) for i in range(n)] for name, n in sizes.items()}

    def spikes(self, name):
        return self.trains[name]


def fake_result(at_ms, agrees=True):
    return SimpleNamespace(at_ms=at_ms, agrees=agrees, op=SimpleNamespace(describe=lambda: f"op at {at_ms:g}"))


@pytest.fixture
def figure():
    fig = plots.raster_figure(FakeMemory(3, 4), [fake_result(1.0), fake_result(11.0, agrees=False)], "title")
    yield fig
    plt.close(fig)


def test_raster_has_a_legend_naming_cue_and_content_rows(figure):
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert any("cue" in s and "red" in s for s in labels)
    assert any("content" in s and "blue" in s for s in labels)


def test_raster_axes_name_time_in_ms_and_the_neuron_index(figure):
    assert "ms" in figure.axes[-1].get_xlabel()
    assert "neuron index" in figure.get_supylabel()
    # each panel is named after its population, with a short gloss, for every population of the network
    names = [ax.get_ylabel().split("\n") for ax in figure.axes]
    assert [n[0] for n in names] == ["IN", "CueCue", "ContCue", "ContCondInt", "ContCond", "ContCont", "CueCont",
                                     "MergeCue", "MergeCont", "OUT"]
    assert all(len(n) == 2 and n[1] for n in names)


def _row_colours(ax):
    """{row index: colour} of the spike marks drawn on ``ax``."""
    out = {}
    for coll in ax.collections:
        rgba = tuple(np.round(coll.get_edgecolor()[0][:3], 3))
        for _, y in coll.get_offsets():
            out[int(y)] = rgba
    return out


def test_raster_colours_cue_neurons_red_and_content_bits_blue(figure):
    red = tuple(np.round(mcolors.to_rgb("tab:red"), 3))
    blue = tuple(np.round(mcolors.to_rgb("tab:blue"), 3))
    panels = {ax.get_ylabel().split("\n")[0]: _row_colours(ax) for ax in figure.axes}
    # IN and OUT: the 3 cues first, then the 4 content bits
    for name in ("IN", "OUT"):
        assert panels[name] == {0: red, 1: red, 2: red, 3: blue, 4: blue, 5: blue, 6: blue}
    for name in ("CueCue", "CueCont", "MergeCue"):
        assert set(panels[name].values()) == {red} and len(panels[name]) == 3
    for name in ("ContCue", "ContCont", "ContCond", "MergeCont"):
        assert set(panels[name].values()) == {blue} and len(panels[name]) == 4


def test_population_sizes_agree_with_the_network():
    c, k = 5, 10
    spec = network.build_spec(c, k, profile.load("brian2"))
    assert [p.name for p in populations.POPULATIONS] == ["IN", *plots.INTERNAL, "OUT"]
    assert {p.name for p in populations.POPULATIONS} == set(network.POPULATIONS)
    for p in populations.POPULATIONS:
        assert eval(p.size, {"c": c, "k": k}) == spec.population(p.name).size   # "c + k", "1", ...


def _report(tmp_path, with_raster: bool):
    d = tmp_path / "functional"
    d.mkdir(parents=True)
    (d / "summary.md").write_text("# Functional experiment (brian2)\n\nText.\n")
    if with_raster:
        fig, _ = plt.subplots(figsize=(1, 1))
        fig.savefig(d / "raster.png")
        plt.close(fig)
    return report.build(tmp_path).read_text()


def test_report_explains_every_population_once_in_one_table(tmp_path):
    page = _report(tmp_path, with_raster=True)
    assert page.count("Population names in the rasters") == 1
    section = page[page.index("id='populations'"):]
    table = section[section.index("<table>"):section.index("</table>")]
    rows = re.findall(r"<tr><td>(\w+)</td>", table)
    assert sorted(rows) == sorted(network.POPULATIONS)
    assert "href='#populations'" in page                     # the raster's caption points to it


def test_report_without_a_raster_has_no_population_table(tmp_path):
    assert "Population names" not in _report(tmp_path, with_raster=False)


@pytest.mark.parametrize("values, scale", [
    ((9.9, 10.3, 10.1), "linear"),            # the capacity run's memory (MB): 4% of a decade
    ((75, 136, 189, 154), "linear"),          # operations per second, with the SpiNNaker line
    ((295, 21_184, 330_496), "log"),          # synapses: three decades
    ((1.0, 10.0), "log"),                     # exactly a decade
    ((1.0, 9.99), "linear"),
    ((0.0, 5.0, None, 400.0), "log"),         # zeros and gaps have no logarithm: judged on 5..400
    ((42.0,), "linear"),
    ((), "linear"),
])
def test_axis_scale_is_log_only_over_a_decade_or_more(values, scale):
    assert plots.axis_scale(values) == scale


def test_capacity_figure_uses_linear_axes_for_small_ranges():
    rows = [{"cue_size": c, "content_size": c, "synapses": s, "build_s": b, "ops_per_s": o, "memory_mb": m}
            for c, s, b, o, m in ((5, 295, 0.24, 189, 10.3), (64, 21_184, 0.32, 136, 9.9),
                                  (256, 330_496, 0.47, 75, 10.1))]
    fig = capacity.figure(rows, "brian2")
    scales = {ax.get_title(): (ax.get_xscale(), ax.get_yscale()) for ax in fig.axes}
    plt.close(fig)
    assert scales == {"synapses": ("log", "log"), "build time (s)": ("log", "linear"),
                      "operations per wall-second": ("log", "linear"), "memory (MB)": ("log", "linear")}


def test_stress_figure_gives_each_kind_of_error_one_colour_and_one_legend():
    from hippocam.experiments import stress
    rows = [{"after": "learn", "spacing_ms": 6, "wrong": 3, "total": 10,
             "kinds": {"learn: missing bit": 1, "recall_content: missing cue": 2}},
            {"after": "learn", "spacing_ms": 8, "wrong": 0, "total": 10, "kinds": {}},
            {"after": "recall", "spacing_ms": 3, "wrong": 2, "total": 10, "kinds": {"recall_content: missing cue": 2}},
            {"after": "recall", "spacing_ms": 5, "wrong": 0, "total": 10, "kinds": {}}]
    prof = SimpleNamespace(name="brian2", spacing_after_learn_ms=8.0, spacing_after_recall_ms=5.0)
    fig = stress.figure(rows, prof, {"learn": 7.0, "recall": 4.0}, "title")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["learn: missing bit", "recall_content: missing cue", "operations wrong",
                      "profile's spacing (brian2)"]
    assert [ax.get_title() for ax in fig.axes] == ["after a learn (minimum safe spacing: 7 ms)",
                                                  "after a recall (minimum safe spacing: 4 ms)"]
    # the recall panel's only bar has the colour the learn panel gives the same kind (its upper bar)
    learn_bars = [p for p in fig.axes[0].patches if p.get_height() > 0]
    recall_bars = [p for p in fig.axes[1].patches if p.get_height() > 0]
    top = max(learn_bars, key=lambda p: p.get_y())
    assert len(recall_bars) == 1 and recall_bars[0].get_facecolor() == top.get_facecolor()
    assert learn_bars[0].get_facecolor() != top.get_facecolor()
    plt.close(fig)
