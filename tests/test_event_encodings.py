"""Encoders on hand-made inputs: frames, voxel grids, event clouds, Spike Voxel Coding, image counts, spike trains."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hippocam.errors import InputError
from hippocam.event_models.data import encodings as enc
from hippocam.event_models.data.events import make_events


def test_event_frames_bin_by_time_polarity_and_pooled_pixel():
    ev = make_events(x=[0, 1, 3, 3, 2], y=[0, 0, 3, 2, 1], t=[0, 499, 500, 999, 2000], p=[1, 1, 0, 1, 0])
    f = enc.event_frames(ev, (4, 4), duration_us=1000, bins=2)
    assert f.shape == (4, 4, 4) and f.sum() == 5
    assert f[1, 0, 0] == 1 and f[1, 0, 1] == 1          # bin 0, ON
    assert f[2, 3, 3] == 1 and f[3, 2, 3] == 1          # bin 1, OFF and ON
    assert f[2, 1, 2] == 1                              # past the window: the last bin
    pooled = enc.event_frames(ev, (4, 4), 1000, 2, pool=2)
    assert pooled.shape == (4, 2, 2) and pooled[1, 0, 0] == 2 and pooled[2, 1, 1] == 1 and pooled[2, 0, 1] == 1


def test_frames_reject_a_pool_that_does_not_divide_the_sensor():
    with pytest.raises(InputError, match="pool must divide"):
        enc.event_frames(make_events([0], [0], [0], [1]), (5, 5), 10, 1, pool=2)


def test_voxel_grid_shares_an_event_between_neighbouring_bins():
    ev = make_events(x=[1], y=[0], t=[250], p=[1])
    g = enc.voxel_grid(ev, (2, 1), duration_us=1000, bins=3)    # t = 0.5 of the way from bin 0 to bin 1
    assert g[0, 1, 0, 1] == pytest.approx(0.5) and g[1, 1, 0, 1] == pytest.approx(0.5) and g.sum() == 1


def test_farthest_points_and_knn_on_a_line():
    pts = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0], [11, 0, 0]])
    idx = enc.farthest_points(pts, 3, start=0)
    assert list(idx) == [0, 4, 2]
    nb = enc.knn(pts, pts[[0, 4]], 2)
    assert nb.tolist() == [[0, 1], [4, 3]]


def test_event_cloud_codes_offsets_as_non_negative_parts():
    # four events: a centroid group on a line in x, all inside one group
    ev = make_events(x=[0, 1, 2, 3], y=[0, 0, 0, 0], t=[0, 0, 0, 0], p=[1, 0, 1, 0])
    cloud = enc.event_cloud(ev, (4, 1), 1000, n_events=4, groups=1, k=4, rng=np.random.default_rng(0),
                            offset_scale=1.0)
    ch = {c: i for i, c in enumerate(enc.EVENT_CLOUD_CHANNELS)}
    assert cloud.shape == (len(enc.EVENT_CLOUD_CHANNELS), 1, 4) == (18, 1, 4)
    assert cloud.min() >= 0 and cloud.max() <= 1
    cx = cloud[ch["cx"], 0, 0]
    dxp = cloud[ch["early dx+"], 0] + cloud[ch["late dx+"], 0]
    dxm = cloud[ch["early dx-"], 0] + cloud[ch["late dx-"], 0]
    x = cx + dxp - dxm                                # centroid + positive - negative part = the event's x
    assert sorted(np.round(x * 3).astype(int)) == [0, 1, 2, 3]
    assert np.all((dxp == 0) | (dxm == 0))            # one of the two parts is zero
    assert set(cloud[ch["p"], 0]) == {0.0, 1.0}       # polarity channel


def test_event_cloud_splits_offsets_by_time_order_and_codes_the_centre():
    # a dot moving right over time: the later half of the group lies to the right of the earlier half
    ev = make_events(x=[0, 1, 2, 3, 4, 5, 6, 7], y=[2] * 8, t=[0, 100, 200, 300, 400, 500, 600, 700], p=[1] * 8)
    cloud = enc.event_cloud(ev, (8, 5), 1000, n_events=8, groups=1, k=8, rng=np.random.default_rng(1),
                            offset_scale=1.0, centre_scale=1.0)
    ch = {c: i for i, c in enumerate(enc.EVENT_CLOUD_CHANNELS)}
    early = (cloud[ch["early dx+"], 0] - cloud[ch["early dx-"], 0])
    late = (cloud[ch["late dx+"], 0] - cloud[ch["late dx-"], 0])
    is_late = (cloud[ch["late dx+"], 0] + cloud[ch["late dx-"], 0]) > 0
    t = cloud[ch["ct"], 0, 0] + cloud[ch["dt+"], 0] - cloud[ch["dt-"], 0]
    assert np.all(t[is_late] > t[~is_late].max())     # the late channels hold the later half (4 of 8)
    assert late.sum() / 4 - early.sum() / 4 == pytest.approx(4 / 7)    # mean late minus mean early x offset
    # centroid relative to the cloud's mean x (3.5 / 7), split into + and - parts; y is at the mean
    rel = cloud[ch["rx+"], 0, 0] - cloud[ch["rx-"], 0, 0]
    assert rel == pytest.approx(cloud[ch["cx"], 0, 0] - 0.5)
    assert cloud[ch["ry+"]].max() == 0 and cloud[ch["ry-"]].max() == 0


def test_rate_code_and_image_counts_round_to_levels():
    assert enc.rate_code(np.array([0, 0.12, 0.13, 0.5, 1.0, 1.7]), 4).tolist() == [0, 0, 1, 2, 4, 4]
    img = np.array([[0, 4, 8], [12, 16, 3]])
    assert enc.image_counts(img, 16, 4).tolist() == [[0, 1, 2], [3, 4, 1]]
    with pytest.raises(InputError, match="levels must be a positive integer"):
        enc.rate_code(np.zeros(2), 0)


def test_spike_voxel_coding_counts_and_normals():
    pts = np.array([[-0.99, -0.99, -0.99]] * 6 + [[0.99, 0.99, 0.99]])
    nrm = np.array([[0, 0, 1.0]] * 6 + [[-1.0, 0, 0]])
    v = enc.spike_voxels(pts, nrm, grid=4, levels=4)
    assert v.shape == (7, 4, 4, 4) and v.dtype == np.uint8
    assert v[0, 0, 0, 0] == 4 and v[0, 3, 3, 3] == 1 and v[0].sum() == 5      # 6 points clipped to 4
    assert v[5, 0, 0, 0] == 4 and v[6, 0, 0, 0] == 0                           # z+ part of the mean normal
    assert v[2, 3, 3, 3] == 4 and v[1, 3, 3, 3] == 0                           # x- part
    assert enc.spike_voxels(pts, None, 4, 4).shape == (1, 4, 4, 4)
    with pytest.raises(InputError, match=r"shape \(N, 3\)"):
        enc.spike_voxels(np.zeros((3, 2)), None, 4, 4)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 8), levels=st.integers(1, 8), steps=st.integers(1, 40))
def test_spread_gives_the_rate_evenly(k, levels, steps):
    k = min(k, levels)
    s = enc.spread(np.array([k]), steps, levels)[:, 0]
    assert s.shape == (steps,) and set(np.unique(s)) <= {0, 1}
    assert s.sum() == int(np.floor(steps * k / levels + 0.5))
    # evenly spread: every prefix holds the rate's share to within one spike
    prefix = np.cumsum(s)
    t = np.arange(1, steps + 1)
    assert np.all(np.abs(prefix - t * k / levels) <= 0.5 + 1e-9)
    if steps == levels:
        assert s.sum() == k


def test_spread_rejects_bad_counts_and_steps():
    with pytest.raises(InputError, match=r"spike counts must lie in 0..4"):
        enc.spread(np.array([5]), 8, 4)
    with pytest.raises(InputError, match="positive integer"):
        enc.spread(np.array([1]), 0, 4)


def test_background_filter_drops_isolated_events_and_keeps_edges():
    # a moving edge: neighbouring pixels fire 1 ms apart; one lone event far away in space, one far in time
    ev = make_events(x=[5, 6, 7, 8, 20, 6], y=[5, 5, 5, 5, 20, 5], t=[0, 1000, 2000, 3000, 1500, 90_000],
                     p=[1, 1, 1, 1, 1, 0])
    kept = enc.background_filter(ev, (32, 32), window_us=10_000)
    assert sorted(kept["x"].tolist()) == [5, 6, 7, 8]
