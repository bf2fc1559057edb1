"""Data previews as figures: frames of an event stream, an event cloud, a point cloud, a voxel grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from hippocam.errors import InputError

from . import datasets, encodings
from .events import read_events
from .pointclouds import read_cloud

KINDS = ("saccade", "gesture", "eventcloud", "pointcloud", "voxels")


def _figure(w, h):
    from matplotlib.figure import Figure   # no pyplot: works headless, leaves global state alone
    return Figure(figsize=(w, h), dpi=100)


def frames_figure(events, sensor, duration_us, bins, title):
    """ON (red) and OFF (blue) events per time bin."""
    f = encodings.event_frames(events, sensor, duration_us, bins)
    fig = _figure(2.2 * bins, 2.6)
    vmax = max(1, np.percentile(f[f > 0], 95)) if (f > 0).any() else 1
    for b in range(bins):
        ax = fig.add_subplot(1, bins, b + 1)
        rgb = np.zeros(f.shape[1:] + (3,))
        rgb[..., 0] = np.clip(f[2 * b + 1] / vmax, 0, 1)
        rgb[..., 2] = np.clip(f[2 * b] / vmax, 0, 1)
        ax.imshow(rgb, interpolation="nearest")
        t0, t1 = b * duration_us / bins / 1000, (b + 1) * duration_us / bins / 1000
        ax.set_title(f"{t0:.0f}-{t1:.0f} ms", fontsize=8)
        ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"{title}: {len(events)} events, ON red / OFF blue", fontsize=9)
    return fig


def cloud_figure(points, normals, title):
    fig = _figure(5, 5)
    ax = fig.add_subplot(projection="3d")
    colour = (np.asarray(normals) + 1) / 2 if normals is not None else None
    ax.scatter(points[:, 0], points[:, 1], points[:, 2], s=4, c=colour)
    ax.set_xlim(-1, 1), ax.set_ylim(-1, 1), ax.set_zlim(-1, 1)
    ax.set_title(f"{title}: {len(points)} points (colour = normal)", fontsize=9)
    return fig


def voxel_figure(points, normals, grid, levels, title):
    svc = encodings.spike_voxels(points, normals, grid, levels)
    fig = _figure(5, 5)
    ax = fig.add_subplot(projection="3d")
    count = svc[0]
    from matplotlib import colormaps
    colours = colormaps["viridis"](count / levels)
    ax.voxels(count > 0, facecolors=colours, edgecolor="k", linewidth=0.1)
    ax.set_title(f"{title}\nSpike Voxel Coding {grid}^3, counts 0..{levels}, {int((count > 0).sum())} active",
                 fontsize=9)
    return fig


def eventcloud_figure(events, sensor, duration_us, title, seed=0):
    rng = np.random.default_rng(seed)
    n = min(len(events), datasets.CLOUD_EVENTS)
    pick = np.sort(rng.choice(len(events), n, replace=False))
    ev = events[pick]
    xyz = np.stack([ev["x"] / (sensor[0] - 1), ev["y"] / (sensor[1] - 1), ev["t"] / duration_us], 1)
    cent = encodings.farthest_points(xyz, datasets.CLOUD_GROUPS)
    nb = encodings.knn(xyz, xyz[cent], datasets.CLOUD_K)
    fig = _figure(5.5, 5)
    ax = fig.add_subplot(projection="3d")
    ax.scatter(xyz[:, 0], xyz[:, 2], xyz[:, 1], s=2, c="0.7")
    for g in range(len(cent)):
        p = xyz[nb[g]]
        ax.scatter(p[:, 0], p[:, 2], p[:, 1], s=5)
    ax.set_xlabel("x"), ax.set_ylabel("t"), ax.set_zlabel("y")
    ax.set_title(f"{title}: {n} sampled events, {len(cent)} groups x {datasets.CLOUD_K}", fontsize=9)
    return fig


def make(kind: str, out, index: int = 0, seed: int = 0, split: str = "test", file=None) -> Path:
    """Write a preview figure of ``kind`` (one of ``KINDS``) for sample ``index`` (or for ``file``) to ``out``."""
    if kind not in KINDS:
        raise InputError(f"unknown preview {kind!r}; use one of {', '.join(KINDS)}")
    if split not in datasets.SPLITS:
        raise InputError(f"unknown split {split!r}; use train or test")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InputError(f"--index must be an integer >= 0, got {index!r}")
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"--out {out}: give a .png, .pdf or .svg file name")
    if kind in ("saccade", "gesture", "eventcloud"):
        if file is not None:
            ev = read_events(file)
            sensor = (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1) if len(ev) else (1, 1)
            duration = float(ev["t"].max() + 1) if len(ev) else 1.0
            title = Path(file).name
        else:
            name = "saccade" if kind == "saccade" else "gestures"
            _check_index(name, split, index, seed)
            ev, label = datasets.sample_events(name, split, index, seed)
            if name == "saccade":
                sensor, duration = (datasets.SACCADE.sensor,) * 2, 3 * datasets.SACCADE.saccade_ms * 1000
                title = f"saccade digit {label}"
            else:
                sensor, duration = (datasets.GESTURE.sensor,) * 2, datasets.GESTURE.duration_ms * 1000
                title = f"gesture '{datasets.classes('gestures')[label]}'"
        if not len(ev):
            raise InputError(f"{file}: the event file holds no events")
        fig = eventcloud_figure(ev, sensor, duration, title, seed) if kind == "eventcloud" else \
            frames_figure(ev, sensor, duration, 6, title)
    else:
        if file is not None:
            pts, nrm = read_cloud(file)
            title = Path(file).name
        else:
            _check_index("pointclouds", split, index, seed)
            pts, nrm, label = datasets.sample_cloud(split, index, seed)
            title = f"'{datasets.classes('pointclouds')[label]}' (occluded view)"
        fig = cloud_figure(pts, nrm, title) if kind == "pointcloud" else \
            voxel_figure(pts, nrm, datasets.VOXEL_GRID, 4, title)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def _check_index(name, split, index, seed):
    n = datasets._n_samples(name, split, seed)
    if index >= n:
        raise InputError(f"--index {index} is out of range: the {split} split of {name} has {n} samples (0..{n - 1})")
