"""Seeded, cached train/test sets: network inputs as integer counts in 0..D, with labels.

A data set is described by a plain dict (stored inside every trained model, so evaluating rebuilds exactly its
test inputs): ``{"name": ..., "view": ..., "seed": ..., "levels": D}``. Each sample is generated from its own
random stream ``default_rng([seed, split, index])``, so the first n samples of a split are the same whether or not
the rest are made, and one sample can be regenerated alone (``sample_events``, ``sample_cloud``).

* ``digits``: scikit-learn's 8x8 digits (1797, values 0..16), view ``image`` (1, 8, 8); stratified 75/25 split.
* ``saccade``: the same split, each digit seen by a saccading DVS (``events.saccade_events``); view ``frames``
  (2 polarities x 3 saccades, 16 x 16 after 2x2 pooling of the 32 x 32 sensor).
* ``gestures``: ``events.GESTURES``, 160 train / 40 test per class; views ``frames`` (2 x 4 bins, 16 x 16) and
  ``cloud`` (SpikePoint groups, 18 x 32 x 16, after a background-activity filter).
* ``pointclouds``: ``pointclouds.CLASSES`` with occlusion, 200 train / 50 test per class; views ``voxels``
  (Spike Voxel Coding of 512 points, 7 x 16^3) and ``points`` (9 x 256 x 1: 256 of those points, x, y, z mapped
  to [0, 1] and normals split into positive and negative parts).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hippocam.errors import InputError

from . import cache, encodings
from .events import GESTURES, GestureParams, SaccadeParams, gesture_events, saccade_events
from .pointclouds import CLASSES, CloudParams, synth_cloud

SPLITS = {"train": 0, "test": 1}
VIEWS = {"digits": ("image",), "saccade": ("frames",), "gestures": ("frames", "cloud"),
         "pointclouds": ("voxels", "points")}
PER_CLASS = {"gestures": (160, 40), "pointclouds": (200, 50)}
SACCADE = SaccadeParams()
GESTURE = GestureParams()
CLOUD = CloudParams()
SACCADE_BINS, GESTURE_BINS, POOL = 3, 4, 2
CLOUD_EVENTS, CLOUD_GROUPS, CLOUD_K = 512, 32, 16
FILTER_US = 10_000.0      # background-activity filter window of the event-cloud view
T_SCALE = 1.0             # time stretch for the event cloud distances (2.0 was tried: worse)
CLOUD_CODING = 2          # event-cloud feature version (2: centre-relative centroids, time-split offsets)
VOXEL_GRID = 16
MLP_POINTS = 256          # the point-MLP baseline sees the first 256 of the 512 (randomly ordered) points


def classes(name: str) -> tuple[str, ...]:
    return {"digits": tuple(map(str, range(10))), "saccade": tuple(map(str, range(10))),
            "gestures": GESTURES, "pointclouds": CLASSES}[name]


def check_spec(spec: dict) -> dict:
    name, view = spec.get("name"), spec.get("view")
    if name not in VIEWS:
        raise InputError(f"unknown data set {name!r}; use one of {', '.join(VIEWS)}")
    if view not in VIEWS[name]:
        raise InputError(f"data set {name} has no view {view!r}; use one of {', '.join(VIEWS[name])}")
    levels = spec.get("levels")
    if isinstance(levels, bool) or not isinstance(levels, int) or not 1 <= levels <= 255:
        raise InputError(f"levels must be an integer in 1..255, got {levels!r}")
    return spec


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS[split], index])


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise InputError("the digits data sets need scikit-learn (pip install scikit-learn)") from None
    d = load_digits()
    return d.images, d.target


def digit_split(seed: int, split: str) -> np.ndarray:
    """Indices into scikit-learn's digits of a stratified 75/25 split (test = a quarter of each class)."""
    _, y = _digits()
    rng = np.random.default_rng([seed, 99])
    test = []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        test.extend(rng.permutation(idx)[: len(idx) // 4])
    test = np.sort(np.array(test))
    return test if split == "test" else np.setdiff1d(np.arange(len(y)), test)


def _n_samples(name: str, split: str, seed: int) -> int:
    if name in ("digits", "saccade"):
        return len(digit_split(seed, split))
    per = PER_CLASS[name][SPLITS[split]]
    return per * len(classes(name))


def sample_events(name: str, split: str, index: int, seed: int) -> tuple[np.ndarray, int]:
    """The raw event stream of one sample of ``saccade`` or ``gestures`` and its label."""
    if name == "saccade":
        images, y = _digits()
        k = digit_split(seed, split)[index]
        return saccade_events(images[k], SACCADE, _rng(seed, split, index)), int(y[k])
    if name == "gestures":
        label = index % len(GESTURES)
        return gesture_events(label, GESTURE, _rng(seed, split, index)), label
    raise InputError(f"{name} is not an event data set; use saccade or gestures")


def sample_cloud(split: str, index: int, seed: int):
    """One synthetic point cloud (points, normals) and its label."""
    label = index % len(CLASSES)
    pts, nrm = synth_cloud(label, CLOUD, _rng(seed, split, index))
    return pts, nrm, label


def _encode_events(name, ev, index, seed, split):
    """Level-independent views of one event stream (quantised to a model's levels at load time)."""
    if name == "saccade":
        dur = 3 * SACCADE.saccade_ms * 1000
        f = encodings.event_frames(ev, (SACCADE.sensor,) * 2, dur, SACCADE_BINS, POOL)
        return {"frames": np.minimum(f, 65535).astype(np.uint16)}
    dur = GESTURE.duration_ms * 1000
    f = encodings.event_frames(ev, (GESTURE.sensor,) * 2, dur, GESTURE_BINS, POOL)
    rng = np.random.default_rng([seed, SPLITS[split], index, 7])
    kept = encodings.background_filter(ev, (GESTURE.sensor,) * 2, FILTER_US)
    cloud = encodings.event_cloud(kept, (GESTURE.sensor,) * 2, dur, CLOUD_EVENTS, CLOUD_GROUPS, CLOUD_K, rng,
                                  t_scale=T_SCALE)
    return {"frames": np.minimum(f, 65535).astype(np.uint16), "cloud": cloud.astype(np.float32)}


def point_features(points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(9, N, 1) features in [0, 1]: (x+1)/2, (y+1)/2, (z+1)/2 and normals split into positive/negative parts."""
    f = np.concatenate([(np.clip(points, -1, 1) + 1) / 2, np.clip(normals, 0, 1), np.clip(-normals, 0, 1)], 1)
    return f.T[:, :, None]


def _build(name: str, split: str, seed: int, limit: int | None, progress) -> dict:
    """Raw (level-independent) views: event counts, features in [0, 1], voxel counts and normal parts."""
    n = _n_samples(name, split, seed)
    n = n if limit is None else min(n, limit)
    labels = np.empty(n, np.int64)
    if name == "digits":
        images, y = _digits()
        idx = digit_split(seed, split)[:n]
        return {"image": images[idx][:, None], "labels": y[idx]}
    views = {}
    for i in range(n):
        if name in ("saccade", "gestures"):
            ev, labels[i] = sample_events(name, split, i, seed)
            enc = _encode_events(name, ev, i, seed, split)
        else:
            pts, nrm, labels[i] = sample_cloud(split, i, seed)
            count, parts = encodings.voxel_features(pts, nrm, VOXEL_GRID)
            enc = {"voxel_count": np.minimum(count, 255).astype(np.uint8), "voxel_normals": parts.astype(np.float32),
                   "points": point_features(pts[:MLP_POINTS], nrm[:MLP_POINTS]).astype(np.float32)}
        for k, a in enc.items():
            views.setdefault(k, []).append(a)
        if progress and (i + 1) % 200 == 0:
            progress(f"  {name} {split}: {i + 1}/{n} samples")
    return {**{k: np.stack(a) for k, a in views.items()}, "labels": labels}


def _quantise(name: str, view: str, data: dict, levels: int) -> np.ndarray:
    """A model's input counts in 0..levels from the raw views."""
    if view == "image":
        return encodings.image_counts(data["image"], 16.0, levels)
    if view == "frames":
        return encodings.clip_counts(data["frames"], levels)
    if view in ("cloud", "points"):
        return encodings.rate_code(data[view], levels)
    return np.stack([encodings.quantise_voxels(c, p, levels) for c, p in zip(data["voxel_count"],
                                                                               data["voxel_normals"])])


def load_split(spec: dict, split: str, limit: int | None = None, folder=None, progress=None):
    """(counts (N, *shape) uint8 in 0..levels, labels (N,)) of a data set's split; cached under ``folder``."""
    spec = check_spec(spec)
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; use train or test")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"--samples must be a positive integer, got {limit!r}")
    name, seed, levels = spec["name"], int(spec.get("seed", 0)), spec["levels"]
    params = {"name": name, "split": split, "seed": seed, "limit": limit,
              "gen": {"saccade": dataclasses.asdict(SACCADE), "gestures": dataclasses.asdict(GESTURE),
                      "pointclouds": dataclasses.asdict(CLOUD)}.get(name),
              "enc": {"saccade": [SACCADE_BINS, POOL], "gestures": [GESTURE_BINS, POOL, CLOUD_EVENTS, CLOUD_GROUPS,
                                                                     CLOUD_K, FILTER_US, T_SCALE, CLOUD_CODING],
                      "pointclouds": [VOXEL_GRID, MLP_POINTS]}.get(name)}
    full = cache.cache_dir(folder) / cache.key(f"{name}-{split}", {**params, "limit": None})
    if name == "digits":   # instant: not worth a cache file
        data = _build(name, split, seed, limit, progress)
    elif limit is not None and full.exists():   # the first samples of a cached full split are the same samples
        data = {k: v[:limit] for k, v in cache.cached(f"{name}-{split}", {**params, "limit": None}, None,
                                                      folder).items()}
    else:
        data = cache.cached(f"{name}-{split}", params, lambda: _build(name, split, seed, limit, progress), folder)
    return _quantise(name, spec["view"], data, levels), data["labels"]
