"""The Bundle and its layers: schema conformance and findings carried along."""

from __future__ import annotations

import geopandas as gpd
import shapely

from ridermap.model.bundle import Bundle, concat_bundles, conform_layer
from ridermap.model.findings import Finding


def test_conform_layer_keeps_rows_with_their_geometry_whatever_the_index():
    gdf = gpd.GeoDataFrame(
        {"id": ["a", "b"], "kind": ["charger", "toilet"]},
        geometry=[shapely.Point(0, 0), shapely.Point(1, 1)],
        crs=4326,
        index=[5, 3],
    )
    out = conform_layer("facilities", gdf)
    assert list(out["id"]) == ["a", "b"]
    assert list(out["kind"]) == ["charger", "toilet"]
    assert [p.x for p in out.geometry] == [0.0, 1.0]


def test_findings_survive_concat_and_replace():
    f1 = Finding("warning", "x", "units", "u1", "osm:node/1", "中", "en")
    f2 = Finding("error", "y", "gates", "g1", "s.xlsx:gates:2", "中", "en", column="lon", value="abc")
    a = Bundle.empty().with_findings([f1])
    b = Bundle.empty().with_findings([f2])
    both = concat_bundles([a, b])
    assert both.findings == (f1, f2)
    assert both.replace(units=both.units).findings == (f1, f2)
    assert set(both.layers()) == {"communities", "gates", "buildings", "units", "facilities", "paths"}
