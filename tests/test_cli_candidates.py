"""``ridermap gaps --candidates FILE``: the candidate-site reader (ridermap.ingest.candidates)."""

from __future__ import annotations

import json

import pytest

from ridermap.errors import InputError
from ridermap.ingest.candidates import read_candidates


def test_geojson_points_keep_their_columns_and_get_user_ids(tmp_path):
    path = tmp_path / "sites.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"id": 7, "name": "=HYPERLINK(1)"},
                        "geometry": {"type": "Point", "coordinates": [104.089, 30.653]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    sites = read_candidates(str(path))
    assert (
        sites.crs.to_epsg() == 4326
        and sites["id"].tolist() == ["user:7"]
        and sites["name"].tolist() == ["=HYPERLINK(1)"]
    )
    assert (sites.geometry.x.iloc[0], sites.geometry.y.iloc[0]) == pytest.approx((104.089, 30.653))


def test_csv_in_a_projected_crs_is_moved_to_wgs84(tmp_path):
    path = tmp_path / "utm.csv"
    path.write_text("x,y\n500000,3390000\n", encoding="utf-8")  # UTM 48N: on the central meridian 105 E
    sites = read_candidates(str(path), crs="EPSG:32648")
    assert sites.geometry.x.iloc[0] == pytest.approx(105.0, abs=1e-9) and 30.5 < sites.geometry.y.iloc[0] < 30.7


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("经度,纬度\n104.08,30.65\n104.09,abc\n", r"bad\.csv: row 3: lon/lat is not a number"),
        ("name\nx\n", r"bad\.csv: candidate CSV needs lon and lat columns"),
        ("lon,lat\n", r"bad\.csv: candidate sites must be points \(got nothing\)"),
    ],
)
def test_bad_csv_is_one_error_naming_file_and_row(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        read_candidates(str(path))
    assert info.value.zh and "bad.csv" in info.value.zh


def test_lines_are_not_candidate_sites(tmp_path):
    path = tmp_path / "lines.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "LineString", "coordinates": [[104, 30], [104.1, 30]]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"must be points \(got \['LineString'\]\)"):
        read_candidates(str(path))
