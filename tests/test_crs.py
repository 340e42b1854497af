"""GCJ-02 / BD-09: closed forward formulas, iterative inverses (< 1 cm)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridermap import crs as c
from ridermap.errors import CRSError

METRES_PER_DEG = 111_320.0

# Points spread over mainland China (lon, lat): cities from Kashgar to Harbin.
CHINA = [
    (75.99, 39.47),
    (87.62, 43.82),
    (91.13, 29.65),
    (104.07, 30.67),
    (116.40, 39.90),
    (121.47, 31.23),
    (126.64, 45.76),
    (113.26, 23.13),
    (108.95, 34.27),
    (110.35, 20.02),
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CHINA), st.floats(-0.4, 0.4), st.floats(-0.4, 0.4))
def test_gcj02_round_trip_under_1cm(city, dlon, dlat):
    lon, lat = city[0] + dlon, city[1] + dlat
    glon, glat = c.wgs84_to_gcj02(lon, lat)
    assert abs(glon[0] - lon) + abs(glat[0] - lat) > 1e-4  # really shifted (tens of metres or more)
    wlon, wlat = c.gcj02_to_wgs84(glon, glat)
    err_m = np.hypot((wlon[0] - lon) * METRES_PER_DEG * np.cos(np.radians(lat)), (wlat[0] - lat) * METRES_PER_DEG)
    assert err_m < 0.01


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CHINA), st.floats(-0.4, 0.4), st.floats(-0.4, 0.4))
def test_bd09_round_trip_under_1cm(city, dlon, dlat):
    lon, lat = city[0] + dlon, city[1] + dlat
    wlon, wlat = c.bd09_to_wgs84(*c.wgs84_to_bd09(lon, lat))
    err_m = np.hypot((wlon[0] - lon) * METRES_PER_DEG * np.cos(np.radians(lat)), (wlat[0] - lat) * METRES_PER_DEG)
    assert err_m < 0.01


def test_one_step_inverse_would_not_do():
    """The iterative inverse beats the common one-step inverse by orders of magnitude."""
    lon, lat = 104.0879, 30.6523
    glon, glat = c.wgs84_to_gcj02(lon, lat)
    off_lon, off_lat = c._offset(glon, glat)  # the one-step inverse subtracts the offset at the GCJ point
    one_step = (glon - off_lon, glat - off_lat)
    err_one = np.hypot((one_step[0][0] - lon) * 95_800, (one_step[1][0] - lat) * 110_850)
    wlon, wlat = c.gcj02_to_wgs84(glon, glat)
    err_iter = np.hypot((wlon[0] - lon) * 95_800, (wlat[0] - lat) * 110_850)
    assert err_one > 0.05 and err_iter < 0.001


def test_offset_size_in_chengdu_is_hundreds_of_metres():
    glon, glat = c.wgs84_to_gcj02(104.0879, 30.6523)
    shift_m = np.hypot((glon[0] - 104.0879) * 95_800, (glat[0] - 30.6523) * 110_850)
    assert 200 < shift_m < 700


@pytest.mark.parametrize(
    "lon, lat, where",
    [
        (126.978, 37.5665, "Seoul"),
        (129.075, 35.18, "Busan"),
        (126.53, 33.50, "Jeju"),
        (139.69, 35.69, "Tokyo"),
        (106.91, 47.92, "Ulaanbaatar"),
        (114.16, 22.28, "Hong Kong"),
        (121.56, 25.03, "Taipei"),
        (103.82, 1.35, "Singapore"),
        (105.85, 21.03, "Hanoi"),
        (27.55, 53.90, "Minsk"),
        (-0.13, 51.5, "London"),
    ],
)
def test_points_outside_mainland_china_are_not_shifted(lon, lat, where):
    for fn in (c.wgs84_to_gcj02, c.gcj02_to_wgs84):
        x, y = fn(lon, lat)
        assert (x[0], y[0]) == (lon, lat), where


# --------------------------------------------------------------------------- published reference pairs
# Round trips cannot catch a wrong but invertible formula (a moved constant is moved both ways), so the
# forward formulas and the inverses are held against values other implementations published.

#: 1e-9 degree is ~0.1 mm: the same closed formula evaluated in IEEE doubles agrees to the last digits.
SAME_FORMULA_DEG = 1e-9


def _metres(lon, lat, ref_lon, ref_lat) -> float:
    return float(
        np.hypot(
            (np.asarray(lon) - ref_lon) * METRES_PER_DEG * np.cos(np.radians(ref_lat)),
            (np.asarray(lat) - ref_lat) * METRES_PER_DEG,
        ).max()
    )


@pytest.mark.parametrize(
    "wgs, gcj, where",
    [
        # googollee/eviltransform python/test.py, TESTS (wgsLat, wgsLng, gcjLat, gcjLng), here as (lon, lat)
        ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597), "Shanghai"),
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766), "Shenzhen"),
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069), "Beijing"),
        # wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915)
        ((116.404, 39.915), (116.41024449916938, 39.91640428150164), "Beijing (coordtransform)"),
    ],
)
def test_wgs84_to_gcj02_matches_published_pairs(wgs, gcj, where):
    """WGS84 -> GCJ-02 equals the values of two independent implementations of the closed formula.

    Sources: https://github.com/googollee/eviltransform (``python/test.py``, ``TESTS``) and
    https://github.com/wandergis/coordtransform (``test/app.js``, the ``//result`` comments).
    """
    lon, lat = c.wgs84_to_gcj02(*wgs)
    assert float(lon[0]) == pytest.approx(gcj[0], abs=SAME_FORMULA_DEG), where
    assert float(lat[0]) == pytest.approx(gcj[1], abs=SAME_FORMULA_DEG), where


@pytest.mark.parametrize(
    "wgs, gcj",
    [
        ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ],
)
def test_gcj02_to_wgs84_recovers_published_wgs84(wgs, gcj):
    """The iterative inverse brings eviltransform's GCJ-02 values back to its WGS84 inputs within 1 mm.

    eviltransform's own ``gcj2wgs_exact`` only promises 0.5 m on these pairs (``python/test.py``).
    """
    lon, lat = c.gcj02_to_wgs84(*gcj)
    assert _metres(lon, lat, *wgs) < 0.001


def test_gcj02_bd09_match_coordtransform():
    """GCJ-02 <-> BD-09 at (116.404, 39.915) as published by wandergis/coordtransform (``test/app.js``).

    ``gcj02tobd09`` is the closed formula: equal to 0.1 mm. ``bd09togcj02`` there is the one-step
    inverse; ours refines it by iteration, which moves it by a few centimetres, so 0.1 m.
    """
    lon, lat = c.gcj02_to_bd09(116.404, 39.915)
    assert float(lon[0]) == pytest.approx(116.41036949371029, abs=SAME_FORMULA_DEG)
    assert float(lat[0]) == pytest.approx(39.92133699351021, abs=SAME_FORMULA_DEG)
    lon, lat = c.bd09_to_gcj02(116.404, 39.915)
    assert _metres(lon, lat, 116.39762729119315, 39.90865673957631) < 0.1


def test_gcj02_bd09_match_gcoord():
    """hujiulong/gcoord at (123, 45), published to 8 decimals.

    Source: https://github.com/hujiulong/gcoord ``test/unit/crs/GCJ02.spec.ts`` and ``BD09.spec.ts``
    as of commit 42cff9f (2018; later versions test the city fixture below instead).

    gcoord's GCJ-02 -> WGS84 stops iterating at 1e-6 degree and its BD-09 -> GCJ-02 is one step,
    so those two are held to 0.1 m; the forward GCJ-02 -> BD-09 to its 8 printed decimals.
    """
    lon, lat = c.gcj02_to_bd09(123, 45)
    assert (float(lon[0]), float(lat[0])) == (
        pytest.approx(123.00636499, abs=1e-8),
        pytest.approx(45.00636899, abs=1e-8),
    )
    assert _metres(*c.gcj02_to_wgs84(123, 45), 122.99395597, 44.99804071) < 0.1
    assert _metres(*c.bd09_to_gcj02(123, 45), 122.99363304, 44.99365430) < 0.1
    assert _metres(*c.bd09_to_wgs84(123, 45), 122.98762210, 44.99171540) < 0.1


def _reference_cities() -> list[dict]:
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent / "data" / "crs_reference_cities.json").read_text(encoding="utf-8"))


def test_reference_cities_all_conversions():
    """38 prefecture seats from Kashgar to Yichun, each with WGS84, GCJ-02 and BD-09 coordinates.

    Fixture ``tests/data/crs_reference_cities.json``: a subset of hujiulong/gcoord
    ``test/fixtures/china-cities.json`` (commit fedbaa1, 2018; see tests/data/README.md), printed
    to 7 decimals (~1 cm). Its BD-09 values agree with the BD-09 formula to that precision. Its
    GCJ-02 values sit a steady ~0.7 m from the GCJ-02 formula everywhere (they were evidently
    read from a web map service, not from a copy of the formula), so GCJ-02 is held to 1 m: still
    far inside the ~100 m by which a moved constant or coefficient shifts points.
    """
    rows = _reference_cities()
    wgs = np.array([r["wgs84"] for r in rows])
    gcj = np.array([r["gcj02"] for r in rows])
    bd = np.array([r["bd09"] for r in rows])
    for got, want in [(c.wgs84_to_gcj02(wgs[:, 0], wgs[:, 1]), gcj), (c.gcj02_to_wgs84(gcj[:, 0], gcj[:, 1]), wgs)]:
        err = np.hypot(
            (got[0] - want[:, 0]) * METRES_PER_DEG * np.cos(np.radians(want[:, 1])),
            (got[1] - want[:, 1]) * METRES_PER_DEG,
        )
        assert err.max() < 1.0, [r["city"] for r, e in zip(rows, err) if e >= 1.0]
    for got, want in [(c.gcj02_to_bd09(gcj[:, 0], gcj[:, 1]), bd), (c.bd09_to_gcj02(bd[:, 0], bd[:, 1]), gcj)]:
        err = np.hypot(
            (got[0] - want[:, 0]) * METRES_PER_DEG * np.cos(np.radians(want[:, 1])),
            (got[1] - want[:, 1]) * METRES_PER_DEG,
        )
        assert err.max() < 0.05, [r["city"] for r, e in zip(rows, err) if e >= 0.05]
    wlon, wlat = c.bd09_to_wgs84(bd[:, 0], bd[:, 1])
    assert (
        np.hypot(
            (wlon - wgs[:, 0]) * METRES_PER_DEG * np.cos(np.radians(wgs[:, 1])), (wlat - wgs[:, 1]) * METRES_PER_DEG
        ).max()
        < 1.0
    )


def test_to_wgs84_and_from_wgs84_dispatch_gcj02_and_bd09():
    """The config-facing entry points reach the checked formulas (Shanghai pair above, BD-09 from gcoord)."""
    lon, lat = c.to_wgs84([121.531541859215], [31.17530398364597], "gcj02")
    assert _metres(lon, lat, 121.5272106, 31.1774276) < 0.001
    row = next(r for r in _reference_cities() if r["city"] == "成都市")
    lon, lat = c.from_wgs84([row["wgs84"][0]], [row["wgs84"][1]], "bd09")
    assert _metres(lon, lat, *row["bd09"]) < 1.0


@pytest.mark.parametrize(
    "value, expected",
    [
        ("wgs84", "EPSG:4326"),
        ("CGCS2000", "EPSG:4490"),
        ("gcj02", "gcj02"),
        ("bd-09", "bd09"),
        ("EPSG:4547", "EPSG:4547"),
        ("epsg:32650", "EPSG:32650"),
    ],
)
def test_normalise_crs(value, expected):
    assert c.normalise_crs(value) == expected


def test_unknown_crs_is_a_clear_error():
    with pytest.raises(CRSError, match="unknown CRS 'mars'"):
        c.normalise_crs("mars")


def test_projected_crs_to_wgs84():
    """CGCS2000 3-degree Gauss-Kruger zone 35 (EPSG:4524) via pyproj."""
    x, y = c.from_wgs84(104.0879, 30.6523, "EPSG:4524")
    lon, lat = c.to_wgs84(x, y, "EPSG:4524")
    assert float(lon) == pytest.approx(104.0879, abs=1e-8) and float(lat) == pytest.approx(30.6523, abs=1e-8)
