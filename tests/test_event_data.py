"""Event and point-cloud data: the DVS model on hand-made videos, generators deterministic with sane statistics,
readers of OFF / PLY / event files, clear errors on malformed files."""
import struct

import numpy as np
import pytest

from hippocam.errors import InputError
from hippocam.event_models.data import datasets, events, pointclouds as pc


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("HIPPOCAM_CACHE", str(tmp_path / "cache"))


QUIET = events.DVSParams(threshold=0.2, mismatch=0.0, refractory_us=0.0, noise_hz=0.0, eps=0.0)


# ------------------------------------------------------------------------------------------------ DVS model
def test_a_log_intensity_step_gives_one_event_per_threshold_crossed():
    frames = np.full((2, 2, 3), 0.1)
    frames[1, 1, 2] = 0.1 * np.exp(0.9)          # +0.9 in log: 4 ON events with C = 0.2
    frames[1, 0, 0] = 0.1 * np.exp(-0.5)         # -0.5: 2 OFF events
    ev = events.dvs_events(frames, 1000.0, QUIET, np.random.default_rng(0))
    on, off = ev[ev["p"] == 1], ev[ev["p"] == 0]
    assert len(on) == 4 and set(zip(on["x"], on["y"])) == {(2, 1)}
    assert len(off) == 2 and set(zip(off["x"], off["y"])) == {(0, 0)}
    assert np.all((ev["t"] >= 0) & (ev["t"] < 1000)) and np.all(np.diff(ev["t"]) >= 0)


def test_the_refractory_period_limits_events_and_the_rest_come_later():
    frames = np.full((3, 1, 1), 0.1)
    frames[1:] = 0.1 * np.exp(1.05)              # 5 thresholds crossed in the first interval
    params = events.DVSParams(threshold=0.2, mismatch=0.0, refractory_us=400.0, noise_hz=0.0, eps=0.0)
    ev = events.dvs_events(frames, 1000.0, params, np.random.default_rng(0))
    first = ev[ev["t"] < 1000]
    assert len(first) == 3                        # at 0, 400, 800 us
    assert np.all(np.diff(ev["t"]) >= 400)
    assert len(ev) == 5                           # the missed change is caught up in the next frame


def test_noise_events_follow_the_rate():
    frames = np.full((1001, 10, 10), 0.5)        # a static scene for 1 s
    params = events.DVSParams(noise_hz=5.0)
    n = [len(events.dvs_events(frames[:, :, :], 1000.0, params, np.random.default_rng(s))) for s in range(5)]
    assert 300 < np.mean(n) < 700                 # 5 Hz x 100 pixels x 1 s = 500


# -------------------------------------------------------------------------------------------- generators
def test_saccade_streams_are_deterministic_and_n_mnist_like():
    a, la = datasets.sample_events("saccade", "test", 3, seed=0)
    b, lb = datasets.sample_events("saccade", "test", 3, seed=0)
    c, _ = datasets.sample_events("saccade", "test", 3, seed=1)
    assert la == lb and np.array_equal(a, b) and not np.array_equal(a, c)
    counts, pols = [], []
    for i in range(6):
        ev, _ = datasets.sample_events("saccade", "train", i, seed=0)
        counts.append(len(ev))
        pols.append(ev["p"].mean())
        assert ev.dtype == events.EVENT_DTYPE
        assert ev["x"].max() < 32 and ev["y"].max() < 32 and ev["x"].min() >= 0
        assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].max() <= 300_000
    assert 800 < min(counts) and max(counts) < 8000
    assert 0.4 < np.mean(pols) < 0.6              # the triangle returns to its start: ON and OFF balance


def test_every_saccade_produces_events():
    ev, _ = datasets.sample_events("saccade", "train", 0, seed=0)
    per = np.histogram(ev["t"], bins=[0, 100_000, 200_000, 300_001])[0]
    assert np.all(per > 0.15 * len(ev))


def test_gestures_are_deterministic_balanced_and_move_the_right_way():
    a, la = datasets.sample_events("gestures", "train", 0, seed=0)
    b, _ = datasets.sample_events("gestures", "train", 0, seed=0)
    assert np.array_equal(a, b)
    labels = [datasets.sample_events("gestures", "test", i, seed=0)[1] for i in range(10)]
    assert sorted(labels) == list(range(10))
    shifts = {"right": [], "left": [], "up": [], "down": []}
    for i in range(40):
        label = i % 10
        name = events.GESTURES[label]
        if name not in shifts:
            continue
        ev, _ = datasets.sample_events("gestures", "train", i, seed=0)
        assert 200 < len(ev) < 20000
        early, late = ev[ev["t"] < 150_000], ev[ev["t"] > 350_000]
        axis = "x" if name in ("right", "left") else "y"
        shifts[name].append(np.median(late[axis]) - np.median(early[axis]))
    # most samples move visibly; a few are hidden by low contrast, flicker or a distractor (as intended)
    for name, sign in (("right", 1), ("down", 1), ("left", -1), ("up", -1)):
        assert sum(sign * s > 0 for s in shifts[name]) >= 3 and sign * np.mean(shifts[name]) > 3, name


def test_generated_splits_are_cached_outside_the_repository(tmp_path):
    x, y = datasets.load_split({"name": "gestures", "view": "frames", "seed": 0, "levels": 4}, "test", limit=3)
    assert x.shape == (3, 8, 16, 16) and x.max() <= 4 and list(y) == [0, 1, 2]
    files = list((tmp_path / "cache" / "event_models").glob("*.npz"))
    assert len(files) == 1
    x2, _ = datasets.load_split({"name": "gestures", "view": "frames", "seed": 0, "levels": 4}, "test", limit=3)
    assert np.array_equal(x, x2)


def test_digit_split_is_stratified_and_disjoint():
    test, train = datasets.digit_split(0, "test"), datasets.digit_split(0, "train")
    assert not set(test) & set(train) and len(test) + len(train) == 1797
    _, y = datasets._digits()
    assert np.all(np.bincount(y[test], minlength=10) >= 40)


@pytest.mark.parametrize("spec, message", [
    ({"name": "mnist", "view": "image", "levels": 4}, "unknown data set 'mnist'"),
    ({"name": "digits", "view": "frames", "levels": 4}, "has no view 'frames'"),
    ({"name": "digits", "view": "image", "levels": 0}, "levels must be an integer"),
])
def test_bad_data_specs(spec, message):
    with pytest.raises(InputError, match=message):
        datasets.load_split(spec, "test")


# ------------------------------------------------------------------------------------------ point clouds
def test_primitives_lie_on_their_surfaces_with_outward_unit_normals():
    rng = np.random.default_rng(0)
    p, n = pc.shape_surface("sphere", 500, rng)
    assert np.allclose(np.linalg.norm(p, axis=1), 1) and np.allclose(n, p)
    p, n = pc.shape_surface("box", 500, rng)
    half = np.array([0.7, 0.5, 0.4])
    assert np.allclose(np.abs(p / half).max(1), 1)              # on a face
    assert np.all(np.einsum("ij,ij->i", n, p) > 0)               # outward
    p, n = pc.shape_surface("cylinder", 500, rng)
    side = np.isclose(np.hypot(p[:, 0], p[:, 1]), 0.5)
    caps = np.isclose(np.abs(p[:, 2]), 0.8) & (np.hypot(p[:, 0], p[:, 1]) <= 0.5 + 1e-9)
    assert np.all(side | caps) and side.sum() > caps.sum()      # side area 1.6 pi > caps 0.5 pi
    p, n = pc.shape_surface("torus", 500, rng)
    assert np.allclose(np.hypot(np.hypot(p[:, 0], p[:, 1]) - 0.7, p[:, 2]), 0.25)
    for name in pc.CLASSES:
        p, n = pc.shape_surface(name, 300, rng)
        assert p.shape == n.shape == (300, 3) and np.allclose(np.linalg.norm(n, axis=1), 1)


def test_area_sampling_puts_points_in_proportion_to_area():
    p, _ = pc.shape_surface("box", 20000, np.random.default_rng(1))
    top = np.isclose(p[:, 2], 0.4).mean()
    assert abs(top - (1.4 * 1.0) / (2 * (1.4 * 1.0 + 1.0 * 0.8 + 1.4 * 0.8))) < 0.01


def test_single_view_occlusion_keeps_the_side_facing_the_viewer():
    p, n = pc.shape_surface("sphere", 1000, np.random.default_rng(0))
    eye = np.array([5.0, 0, 0])
    keep = pc.visible_side(p, n, eye)
    assert 0.35 < keep.mean() < 0.5 and np.all(p[keep, 0] > 0)


def test_synthetic_clouds_are_deterministic_normalised_and_augmented():
    a = datasets.sample_cloud("train", 5, seed=0)
    b = datasets.sample_cloud("train", 5, seed=0)
    assert np.array_equal(a[0], b[0]) and a[2] == b[2] == 5
    for i in range(10):
        pts, nrm, label = datasets.sample_cloud("test", i, seed=0)
        assert label == i and pts.shape == (512, 3)
        assert np.linalg.norm(pts, axis=1).max() < 1.1              # unit sphere plus jitter
        assert np.allclose(np.linalg.norm(nrm, axis=1), 1, atol=1e-5)
    p1, _, _ = datasets.sample_cloud("test", 0, seed=0)
    p2, _, _ = datasets.sample_cloud("test", 10, seed=0)              # same class, another sample
    assert not np.allclose(np.sort(p1[:, 2]), np.sort(p2[:, 2]))


CUBE_V = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
CUBE_F = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]


def write_off(path, header="OFF\n8 6 0\n", verts=CUBE_V, faces=CUBE_F):
    lines = [header.rstrip("\n")] + [" ".join(map(str, v)) for v in verts] + \
        [f"{len(f)} " + " ".join(map(str, f)) for f in faces]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_off_files_are_read_and_sampled_on_the_surface(tmp_path):
    v, f = pc.read_off(write_off(tmp_path / "cube.off"))
    assert v.shape == (8, 3) and f.shape == (12, 3)                  # quads fanned into triangles
    glued = pc.read_off(write_off(tmp_path / "glued.off", header="OFF8 6 0"))   # ModelNet's quirk
    assert np.array_equal(glued[0], v)
    pts, nrm = pc.sample_mesh(v, f, 400, np.random.default_rng(0))
    assert np.allclose(np.abs(pts).max(1), 1)                        # every point on a face of the cube
    assert np.allclose(np.abs(nrm[np.arange(400), np.abs(pts).argmax(1)]), 1)   # normal across that face
    pts, nrm = pc.read_cloud(tmp_path / "cube.off", n=400)
    assert pts.shape == (400, 3) and np.linalg.norm(pts, axis=1).max() == pytest.approx(1, abs=1e-6)


def test_ply_ascii_and_binary_give_the_same_mesh(tmp_path):
    head = ("ply\nformat {}\nelement vertex 8\nproperty float x\nproperty float y\nproperty float z\n"
            "element face 6\nproperty list uchar int vertex_indices\nend_header\n")
    asc = tmp_path / "a.ply"
    asc.write_text(head.format("ascii 1.0") + "".join(f"{x} {y} {z}\n" for x, y, z in CUBE_V)
                   + "".join(f"4 {' '.join(map(str, f))}\n" for f in CUBE_F))
    binp = tmp_path / "b.ply"
    body = b"".join(struct.pack("<3f", *v) for v in CUBE_V) + \
        b"".join(struct.pack("<B4i", 4, *f) for f in CUBE_F)
    binp.write_bytes(head.format("binary_little_endian 1.0").encode() + body)
    va, fa, na = pc.read_ply(asc)
    vb, fb, nb = pc.read_ply(binp)
    assert np.allclose(va, vb) and np.array_equal(fa, fb) and fa.shape == (12, 3) and na is None
    assert np.allclose(va, CUBE_V)


def test_a_ply_point_cloud_with_normals(tmp_path):
    path = tmp_path / "p.ply"
    path.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                    "property float nx\nproperty float ny\nproperty float nz\nend_header\n"
                    "0 0 0 0 0 1\n1 0 0 0 0 1\n0 1 0 0 0 1\n")
    pts, nrm = pc.read_cloud(path, n=5)
    assert pts.shape == (5, 3) and np.allclose(nrm, [0, 0, 1])


@pytest.mark.parametrize("text, message", [
    ("PLY\n", "not an OFF file"),
    ("OFF\n8 six 0\n", "counts line"),
    ("OFF\n8 6 0\n0 0 0\n", "truncated"),
    ("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "refers to vertex 7"),
    ("OFF\n3 1 0\n0 0 0\n1 0 x\n0 1 0\n3 0 1 2\n", "malformed vertex or face line"),
])
def test_malformed_off_files(tmp_path, text, message):
    path = tmp_path / "bad.off"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        pc.read_off(path)


@pytest.mark.parametrize("data, message", [
    (b"solid cube\n", "not a PLY file"),
    (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n", "no 'end_header'"),
    (b"ply\nformat ascii 1.0\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n",
     "no 'vertex' element"),
    (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n0 0\n",
     "need properties x, y, z"),
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
     b"property float z\nend_header\n\x00\x00", "shorter than its header"),
    (b"ply\nformat utf8 1.0\nelement vertex 0\nend_header\n", "unknown PLY format"),
])
def test_malformed_ply_files(tmp_path, data, message):
    path = tmp_path / "bad.ply"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        pc.read_ply(path)


def test_unknown_cloud_file_type(tmp_path):
    with pytest.raises(InputError, match="use .off or .ply"):
        pc.read_cloud(tmp_path / "x.obj")


# ------------------------------------------------------------------------------------------ event files
def test_tonic_layout_event_files_are_read(tmp_path):
    tonic = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
    ev = np.array([(3, 4, 20, 1), (1, 2, 10, 0)], dtype=tonic)
    np.save(tmp_path / "e.npy", ev)
    np.savez(tmp_path / "e.npz", events=ev)
    for name in ("e.npy", "e.npz"):
        got = events.read_events(tmp_path / name)
        assert list(got["t"]) == [10, 20] and list(got["x"]) == [1, 3] and list(got["p"]) == [0, 1]


@pytest.mark.parametrize("arr, message", [
    (np.zeros(3), "structured array with fields x, y, t, p"),
    (np.zeros(2, dtype=[("x", int), ("y", int), ("t", int)]), "missing field"),
    (np.zeros(2, dtype=[("x", float), ("y", int), ("t", int), ("p", int)]), "field x has type"),
    (np.array([(-1, 0, 0, 1)], dtype=[("x", int), ("y", int), ("t", int), ("p", int)]), "negative pixel"),
    (np.array([(0, 0, -5, 1)], dtype=[("x", int), ("y", int), ("t", int), ("p", int)]), "timestamps"),
    (np.array([(0, 0, 5, 3)], dtype=[("x", int), ("y", int), ("t", int), ("p", int)]), "polarity"),
])
def test_malformed_event_arrays(tmp_path, arr, message):
    np.save(tmp_path / "bad.npy", arr)
    with pytest.raises(InputError, match=message):
        events.read_events(tmp_path / "bad.npy")


def test_event_files_that_are_not_numpy_or_have_no_events_key(tmp_path):
    (tmp_path / "x.npy").write_text("hello")
    with pytest.raises(InputError, match="not a readable numpy file"):
        events.read_events(tmp_path / "x.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros(1), b=np.zeros(1))
    with pytest.raises(InputError, match="under the key 'events'"):
        events.read_events(tmp_path / "two.npz")
    (tmp_path / "e.txt").write_text("1 2 3 1")
    with pytest.raises(InputError, match="use .npy or .npz"):
        events.read_events(tmp_path / "e.txt")
    with pytest.raises(InputError, match="no such event file"):
        events.read_events(tmp_path / "missing.npy")


def test_events_outside_a_given_sensor():
    ev = events.make_events([40], [0], [0], [1])
    with pytest.raises(InputError, match="do not fit a 34x34 sensor"):
        events.check_events(ev, sensor=(34, 34))
