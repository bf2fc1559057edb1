"""The paper's application, generalised: a grid world stored in the memory and queried by content.

Cells are cues; each cell's state (unknown, start, goal, free, path, obstacle) is one content bit.
After filling the map, one recall-by-content per question answers "which cells are on the path",
"which are free", "which hold obstacles", "which are unknown" (and "free or path" at once).
"""
from __future__ import annotations

import time
from collections import deque

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from hippocam.cam import Memory, learn, recall_content  # noqa: E402
from hippocam.cam.scenario import result_dict  # noqa: E402

from .common import md_table, progress  # noqa: E402
from .output import write_json  # noqa: E402

NAME = "state-map"
STATES = ("unknown", "start", "goal", "free", "path", "obstacle")
COLOURS = ("#bbbbbb", "#2ca02c", "#d62728", "#ffffff", "#1f77b4", "#333333")
QUESTIONS = (("path",), ("free",), ("obstacle",), ("unknown",), ("free", "path"))


def make_map(rows: int, cols: int, seed: int, obstacles: float = 0.25, unknown: float = 0.1) -> np.ndarray:
    """A grid of state indices with a shortest path from the top-left start to the bottom-right goal."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        grid = np.full((rows, cols), STATES.index("free"))
        grid[rng.random((rows, cols)) < obstacles] = STATES.index("obstacle")
        start, goal = (0, 0), (rows - 1, cols - 1)
        grid[start] = grid[goal] = STATES.index("free")
        path = _bfs(grid, start, goal)
        if path is not None or rows * cols <= 2:
            break
    for cell in path or []:
        grid[cell] = STATES.index("path")
    grid[start], grid[goal] = STATES.index("start"), STATES.index("goal")
    hidden = (rng.random((rows, cols)) < unknown) & (grid == STATES.index("free")) | \
             (rng.random((rows, cols)) < unknown) & (grid == STATES.index("obstacle"))
    grid[hidden] = STATES.index("unknown")
    return grid


def _bfs(grid, start, goal):
    blocked = grid == STATES.index("obstacle")
    prev = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path, node = [], prev[goal]
            while node is not None and node != start:
                path.append(node)
                node = prev[node]
            return path
        r, c = cell
        for nxt in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if 0 <= nxt[0] < grid.shape[0] and 0 <= nxt[1] < grid.shape[1] and not blocked[nxt] and nxt not in prev:
                prev[nxt] = cell
                queue.append(nxt)
    return None


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, size=(8, 8)) -> dict:
    rows, cols = size
    grid = make_map(rows, cols, seed or 0)
    n = rows * cols
    ops = [learn(i, {int(s)}) for i, s in enumerate(grid.ravel())]
    ops += [recall_content({STATES.index(s) for s in q}) for q in QUESTIONS]
    log(f"state map {rows}x{cols} on {backend}: {n} cells, {len(STATES)} states")
    t0 = time.perf_counter()
    with Memory(n, len(STATES), backend=backend, record="output") as mem:
        results = mem.run(ops, progress=progress(log, "state map"))
        result = result_dict(mem, results, experiment=NAME, grid=grid.tolist(), states=list(STATES),
                             wall_seconds=round(time.perf_counter() - t0, 2))
    answers = results[n:]
    truth = [{i for i, s in enumerate(grid.ravel()) if STATES[s] in q} for q in QUESTIONS]
    result["questions"] = [{"question": " or ".join(q), "cells": sorted(a.answer.cues), "true_cells": sorted(t),
                            "correct": a.answer.cues == t} for q, a, t in zip(QUESTIONS, answers, truth)]
    write_json(out_dir / "result.json", result)
    _figure(grid, answers, out_dir / "map.png", backend)
    table = md_table(["question", "cells answered", "true cells", "correct"],
                     [[q["question"], len(q["cells"]), len(q["true_cells"]), "yes" if q["correct"] else "NO"]
                      for q in result["questions"]])
    (out_dir / "summary.md").write_text(
        f"# State map ({backend}, {rows}x{cols} grid)\n\nEach cell is a cue, its state one of {len(STATES)} content "
        f"bits; each question is a single recall-by-content.\n\n{table}\n\n"
        f"All {result['total']} operations: {result['agreed']} agree with the oracle. Figure: map.png\n")
    log(f"  {result['agreed']}/{result['total']} agree; questions correct: "
        f"{sum(q['correct'] for q in result['questions'])}/{len(QUESTIONS)}")
    return result


def _figure(grid, answers, path, backend):
    rows, cols = grid.shape
    fig, axes = plt.subplots(1, 1 + len(QUESTIONS), figsize=(2.3 * (1 + len(QUESTIONS)), 2.6))
    cmap = ListedColormap(COLOURS)
    axes[0].imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(STATES) - 0.5)
    axes[0].set_title("stored map", fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="k", lw=0.3) for c in COLOURS]
    axes[0].legend(handles, STATES, fontsize=5, loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3)
    for ax, q, a in zip(axes[1:], QUESTIONS, answers):
        mask = np.zeros(rows * cols)
        mask[sorted(a.answer.cues)] = 1
        ax.imshow(grid, cmap=cmap, vmin=-0.5, vmax=len(STATES) - 0.5, alpha=0.25)
        ax.imshow(np.ma.masked_equal(mask.reshape(rows, cols), 0), cmap=ListedColormap(["#ff7f0e"]), alpha=0.9)
        ax.set_title(("which cells are " + " or ".join(q)) + ("" if a.agrees else "  WRONG"), fontsize=7)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Grid world in the CAM ({backend}): answers of single recall-by-content operations", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
