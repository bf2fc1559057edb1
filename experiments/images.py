"""Small binary images as contents: store thresholded 8x8 digits, recall by cue and by a few pixels."""
from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hippocam.cam import Memory, learn, recall_content, recall_cue  # noqa: E402
from hippocam.cam.scenario import result_dict  # noqa: E402

from .common import md_table, progress  # noqa: E402
from .output import write_json  # noqa: E402

NAME = "images"
FRAGMENT_PIXELS = 3


def digit_images(n: int, seed: int) -> np.ndarray:
    """``n`` binary 8x8 digits (pixel >= 8 of 16) from scikit-learn's bundled set, one class after another."""
    from sklearn.datasets import load_digits
    data = load_digits()
    rng = np.random.default_rng(seed)
    picks = [int(rng.choice(np.flatnonzero(data.target == d % 10))) for d in range(n)]
    return (data.images[picks] >= 8).reshape(n, 64)


def run(out_dir, backend: str = "brian2", seed: int | None = 0, log=print, size=(10, 64)) -> dict:
    n = size[0]
    images = digit_images(n, seed or 0)
    rng = np.random.default_rng((seed or 0) + 1)
    fragments = [frozenset(rng.choice(np.flatnonzero(img), size=FRAGMENT_PIXELS, replace=False).tolist())
                 for img in images]
    ops = [learn(i, set(np.flatnonzero(img).tolist())) for i, img in enumerate(images)]
    ops += [recall_cue(i) for i in range(n)] + [recall_content(f) for f in fragments]
    log(f"images on {backend}: {n} digits of 64 pixels, fragments of {FRAGMENT_PIXELS} pixels")
    t0 = time.perf_counter()
    with Memory(n, 64, backend=backend, record="output") as mem:
        results = mem.run(ops, progress=progress(log, "images"))
        result = result_dict(mem, results, experiment=NAME, wall_seconds=round(time.perf_counter() - t0, 2))
    by_cue, by_fragment = results[n:2 * n], results[2 * n:]
    result["recall_by_cue_exact"] = sum(
        r.answer.content == set(np.flatnonzero(img).tolist()) for r, img in zip(by_cue, images))
    result["fragment_finds_its_image"] = sum(i in r.answer.cues for i, r in enumerate(by_fragment))
    result["fragment_matches_mean"] = float(np.mean([len(r.answer.cues) for r in by_fragment]))
    write_json(out_dir / "result.json", result)
    _figure(images, fragments, by_cue, by_fragment, out_dir / "images.png", backend)
    table = md_table(["image", "recalled by cue exactly", "fragment pixels", "cues matching the fragment"],
                     [[i, "yes" if by_cue[i].answer.content == set(np.flatnonzero(images[i]).tolist()) else "NO",
                       sorted(fragments[i]), sorted(by_fragment[i].answer.cues)] for i in range(n)])
    (out_dir / "summary.md").write_text(
        f"# Images ({backend})\n\n{n} thresholded 8x8 digits stored as 64-bit contents. Recall by cue returned "
        f"{result['recall_by_cue_exact']}/{n} images exactly; a {FRAGMENT_PIXELS}-pixel fragment found its own image "
        f"in {result['fragment_finds_its_image']}/{n} cases (recall-by-content is an OR-match: every stored image "
        f"holding any of the pixels answers, {result['fragment_matches_mean']:.1f} on average). "
        f"{result['agreed']}/{result['total']} operations agree with the oracle.\n\n{table}\n")
    return result


def _figure(images, fragments, by_cue, by_fragment, path, backend):
    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(1.1 * n, 3.8))
    axes = np.asarray(axes).reshape(3, n)
    for i in range(n):
        frag = np.zeros(64)
        frag[sorted(fragments[i])] = 1
        recalled = np.zeros(64)
        recalled[sorted(by_cue[i].answer.content)] = 1
        for row, img, cmap in ((0, images[i], "Greys"), (1, frag, "Oranges"), (2, recalled, "Blues")):
            axes[row, i].imshow(np.asarray(img, dtype=float).reshape(8, 8), cmap=cmap, vmin=0, vmax=1)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
        axes[1, i].set_title("cues " + ",".join(map(str, sorted(by_fragment[i].answer.cues))), fontsize=5)
    for row, label in enumerate(("stored", "fragment\n(answer: cues)", "recalled\nby cue")):
        axes[row, 0].set_ylabel(label, fontsize=7)
    fig.suptitle(f"Images in the CAM ({backend})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
