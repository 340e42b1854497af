"""GCJ-02 / BD-09: closed forward formulas, iterative inverses (< 1 cm)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ridermap.errors import CRSError
from ridermap import crs as c

METRES_PER_DEG = 111_320.0

# Points spread over mainland China (lon, lat): cities from Kashgar to Harbin.
CHINA = [(75.99, 39.47), (87.62, 43.82), (91.13, 29.65), (104.07, 30.67), (116.40, 39.90),
         (121.47, 31.23), (126.64, 45.76), (113.26, 23.13), (108.95, 34.27), (110.35, 20.02)]


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
    dlon, dlat = glon - lon, glat - lat
    one_step = (glon - dlon * 1, glat - dlat * 1)  # subtracting the offset at the GCJ point
    off_lon, off_lat = c._offset(glon, glat)
    one_step = (glon - off_lon, glat - off_lat)
    err_one = np.hypot((one_step[0][0] - lon) * 95_800, (one_step[1][0] - lat) * 110_850)
    wlon, wlat = c.gcj02_to_wgs84(glon, glat)
    err_iter = np.hypot((wlon[0] - lon) * 95_800, (wlat[0] - lat) * 110_850)
    assert err_one > 0.05 and err_iter < 0.001


def test_offset_size_in_chengdu_is_hundreds_of_metres():
    glon, glat = c.wgs84_to_gcj02(104.0879, 30.6523)
    shift_m = np.hypot((glon[0] - 104.0879) * 95_800, (glat[0] - 30.6523) * 110_850)
    assert 200 < shift_m < 700


@pytest.mark.parametrize("lon, lat, where", [
    (126.978, 37.5665, "Seoul"), (129.075, 35.18, "Busan"), (126.53, 33.50, "Jeju"),
    (139.69, 35.69, "Tokyo"), (106.91, 47.92, "Ulaanbaatar"), (114.16, 22.28, "Hong Kong"),
    (121.56, 25.03, "Taipei"), (103.82, 1.35, "Singapore"), (105.85, 21.03, "Hanoi"),
    (27.55, 53.90, "Minsk"), (-0.13, 51.5, "London"),
])
def test_points_outside_mainland_china_are_not_shifted(lon, lat, where):
    for fn in (c.wgs84_to_gcj02, c.gcj02_to_wgs84):
        x, y = fn(lon, lat)
        assert (x[0], y[0]) == (lon, lat), where


def test_bd09_uses_x_pi_3000():
    assert c._X_PI == pytest.approx(np.pi * 3000.0 / 180.0)


@pytest.mark.parametrize("value, expected", [("wgs84", "EPSG:4326"), ("CGCS2000", "EPSG:4490"), ("gcj02", "gcj02"),
                                             ("bd-09", "bd09"), ("EPSG:4547", "EPSG:4547"), ("epsg:32650", "EPSG:32650")])
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
