"""The one QR encoder and drawer (ridermap.render.qr): levels, versions, geometry, backends, decoding."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ridermap.errors import RenderError
from ridermap.render import qr

URLS = [
    "https://rider.example.cn/u/510104-jhy-b7-u2.html",
    "https://rider.example.cn/c/510104-jhy.html#g=510104-jhy-gn100001",
    "https://rider.example.cn/c/000000-w501362928.html#b=000000-w501362928-b15-w25434714",
]


def _read(modules: np.ndarray, px: int = 6):
    """Decode a bare module matrix (4-module quiet zone added) with zxing-cpp."""
    import zxingcpp

    image = np.pad(np.where(modules, 0, 255).astype(np.uint8), qr.QUIET_ZONE, constant_values=255)
    return zxingcpp.read_barcodes(image.repeat(px, 0).repeat(px, 1))


def _fits(data: str, level: str, version: int) -> bool:
    try:
        qr._encode(data, level, version)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("url", URLS)
def test_symbol_decodes_as_full_qr_at_its_level(url):
    import zxingcpp

    sym = qr.qr_symbol(url)
    assert sym.size == 17 + 4 * sym.version and sym.modules.dtype == bool
    (code,) = _read(sym.modules)
    assert code.format == zxingcpp.BarcodeFormat.QRCode and code.text == url
    assert code.ec_level == sym.error


@pytest.mark.parametrize("url", [*URLS, "x", "HELLO 123", "https://rider.example.cn/" + "u" * 120])
def test_smallest_version_at_m_then_the_strongest_level_that_keeps_it(url):
    sym = qr.qr_symbol(url, ecc="M")
    assert sym.error in "MQH"
    if sym.version > 1:  # one version less does not hold it at M
        assert not _fits(url, "M", sym.version - 1)
    stronger = "MQH"[("MQH".index(sym.error) + 1) :]
    if stronger:  # the next level would need a bigger symbol
        assert not _fits(url, stronger[0], sym.version)


def test_level_is_chosen_and_boost_can_be_off():
    url = URLS[0]
    assert qr.qr_symbol(url, ecc="H").error == "H"
    assert qr.qr_symbol(url, ecc="l", boost=False).error == "L"
    assert qr.qr_symbol("x").error == "H"  # version 1 holds one byte even at H
    assert qr.qr_symbol("x", boost=False).error == "M"
    assert qr.qr_symbol(url, ecc="L").version <= qr.qr_symbol(url, ecc="H").version
    with pytest.raises(RenderError, match="error-correction level"):
        qr.qr_symbol(url, ecc="X")
    with pytest.raises(RenderError, match="cannot encode"):
        qr.qr_symbol("x" * 5000)


def test_matrix_is_cached_and_read_only():
    a = qr.qr_matrix(URLS[1])
    assert a is qr.qr_matrix(URLS[1])
    with pytest.raises(ValueError):
        a[0, 0] = not a[0, 0]


def _from_runs(runs: np.ndarray, shape) -> np.ndarray:
    grid = np.zeros(shape, dtype=int)
    for r, c, n in runs.tolist():
        grid[r, c : c + n] += 1
    return grid


@pytest.mark.parametrize("seed", range(5))
def test_runs_cover_every_dark_module_once(seed):
    rng = np.random.default_rng(seed)
    modules = rng.random((25, 25)) < 0.5
    runs = qr.module_runs(modules)
    grid = _from_runs(runs, modules.shape)
    assert grid.max() <= 1 and np.array_equal(grid.astype(bool), modules)
    # runs are maximal: no two touch in a row
    ends = {(r, c + n) for r, c, n in runs.tolist()}
    assert not any((r, c) in ends for r, c, _ in runs.tolist())


def test_pdf_and_svg_paths_carry_the_runs():
    modules = qr.qr_matrix(URLS[0])
    runs = qr.module_runs(modules)
    ops = qr.pdf_ops(runs)
    assert ops.endswith(" f") and ops.count(" f") == 1  # one path, filled once
    rects = [tuple(map(int, m)) for m in re.findall(r"(\d+) (\d+) (\d+) 1 re", ops)]
    assert np.array_equal(_from_runs(np.array([(r, c, n) for c, r, n in rects]), modules.shape).astype(bool), modules)
    d = qr.svg_path_d(runs)
    svg = [tuple(map(int, m)) for m in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", d)]
    assert sorted(svg) == sorted(rects)


def test_mpl_path_is_one_path_over_the_dark_modules():
    modules = qr.qr_matrix(URLS[1])
    n = modules.shape[0]
    path = qr.mpl_path(qr.module_runs(modules), x0=10.0, top=50.0, module=0.5)
    rows, cols = np.mgrid[0:n, 0:n]
    centres = np.stack([10.0 + (cols.ravel() + 0.5) * 0.5, 50.0 - (rows.ravel() + 0.5) * 0.5], axis=1)
    inside = path.contains_points(centres).reshape(n, n)
    assert np.array_equal(inside, modules)
    assert path.vertices.min(axis=0) == pytest.approx([10.0, 50.0 - n * 0.5])


def test_mpl_drawing_decodes(tmp_path):
    """The matplotlib backend drawn at print size, rasterised, and read back."""
    import zxingcpp
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch, Rectangle

    url = URLS[2]
    modules = qr.qr_matrix(url)
    size = 40.0
    module = size / (modules.shape[0] + 2 * qr.QUIET_ZONE)
    fig = Figure(figsize=(60 / 25.4, 60 / 25.4))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 60)
    ax.set_ylim(0, 60)
    ax.set_axis_off()
    ax.add_patch(Rectangle((10, 10), size, size, facecolor="white", edgecolor="none"))
    quiet = qr.QUIET_ZONE * module
    path = qr.mpl_path(qr.module_runs(modules), x0=10 + quiet, top=50 - quiet, module=module)
    ax.add_patch(PathPatch(path, facecolor="black", edgecolor="none"))
    assert len(ax.patches) == 2  # the white square and ONE path, not a patch per module
    fig.savefig(tmp_path / "qr.png", dpi=150)
    from PIL import Image

    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))
    assert [c.text for c in codes] == [url]
