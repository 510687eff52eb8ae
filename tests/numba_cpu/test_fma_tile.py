"""The register tile of ``kernels/fma_tile.py`` computes its documented sum for every layout parameter."""

import numpy as np
import pytest
from graphdl.backends.numba_cpu.kernels.fma_tile import balanced_runs, fma_tile
from numba import errors, njit


def _expected(x, x0, xs, w, w0, ws, out, o0, os_, x_r, out_r, x_s, w_s, columns, accumulate):
    """The tile's definition, written out in float64."""
    out = out.astype(np.float64)
    for (xr_row, xr_const), (or_row, or_const) in zip(x_r, out_r):
        total = np.zeros(columns)
        for (xs_row, xs_const), (ws_row, ws_const) in zip(x_s, w_s):
            scalar = x[x0 + (xr_row + xs_row) * xs + xr_const + xs_const]
            start = w0 + ws_row * ws + ws_const
            total += scalar * w[start:start + columns].astype(np.float64)
        at = o0 + or_row * os_ + or_const
        out[at:at + columns] = (out[at:at + columns] if accumulate else 0) + total
    return out


def _runner(tile):
    @njit
    def run(x, x0, xs, w, w0, ws, out, o0, os_):
        tile(x, x0, xs, w, w0, ws, out, o0, os_)

    return run


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("columns", [16, 32, 24, 6, 3])  # whole wide vectors, several, narrower vectors, odd
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("rows", [1, 5])
def test_tile_sums_every_step_into_every_row(dtype, columns, accumulate, rows):
    rng = np.random.default_rng(columns + rows)
    x_r = tuple((r % 2, 3 * r) for r in range(rows))
    out_r = tuple((r, 1) for r in range(rows))
    x_s = tuple((s % 3, s) for s in range(7))
    w_s = tuple((s, 2 * s) for s in range(7))
    x = rng.standard_normal(200).astype(dtype)
    w = rng.standard_normal(7 * 40 + 20 + columns).astype(dtype)
    out = rng.standard_normal(4 + rows * (columns + 3) + columns).astype(dtype)
    args = (x, 5, 17, w, 2, 40, out, 4, columns + 3)
    expected = _expected(*args, x_r, out_r, x_s, w_s, columns, accumulate)
    _runner(fma_tile(x_r, out_r, x_s, w_s, columns, accumulate))(*args)
    np.testing.assert_allclose(out, expected, rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-5 if dtype == np.float32 else 1e-13)


def test_tile_leaves_everything_outside_its_rows_alone():
    out = np.full(64, 7.0, np.float32)
    x, w = np.ones(8, np.float32), np.full(16, 2.0, np.float32)
    _runner(fma_tile(((0, 0),), ((0, 0),), ((0, 0), (0, 1)), ((0, 0), (0, 0)), 16, False))(x, 0, 0, w, 0, 0, out, 16, 0)
    np.testing.assert_array_equal(out[16:32], 4.0)  # two steps of 1 * 2
    np.testing.assert_array_equal(np.r_[out[:16], out[32:]], 7.0)


def test_tile_rejects_unpaired_layouts_and_wrong_arrays():
    with pytest.raises(ValueError, match="rows and steps must pair up"):
        fma_tile(((0, 0),), ((0, 0), (0, 1)), ((0, 0),), ((0, 0),), 16, False)
    tile = _runner(fma_tile(((0, 0),), ((0, 0),), ((0, 0),), ((0, 0),), 16, False))
    with pytest.raises(errors.TypingError, match="one float dtype"):
        tile(np.ones(4, np.float32), 0, 0, np.ones(16, np.float64), 0, 0, np.ones(16, np.float32), 0, 0)
    with pytest.raises(errors.TypingError, match="C-contiguous 1-D"):
        tile(np.ones((2, 2), np.float32), 0, 0, np.ones(16, np.float32), 0, 0, np.ones(16, np.float32), 0, 0)


def test_balanced_runs_cover_the_range_in_nearly_equal_pieces():
    assert balanced_runs(150, 24) == [(0, 21), (21, 42), (42, 64), (64, 85), (85, 107), (107, 128), (128, 150)]
    assert balanced_runs(6, 6) == [(0, 6)]
    assert balanced_runs(13, 6) == [(0, 4), (4, 8), (8, 13)]
