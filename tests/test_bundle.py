"""The Bundle and its layers: schema conformance and findings carried along."""

from __future__ import annotations

import pickle

import geopandas as gpd
import pytest
import shapely
from conftest import shared_osm

from ridermap.ingest import bundle_from_sources
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


def test_a_compounds_view_of_itself_is_itself_and_equals_a_recomputed_view():
    """Posters, plates and pages each ask the task's view for its compound: they get the view, not a copy.

    The shortcut is only right because a view of a view is the same view: checked on
    real data (every compound of xueyuanlu), and the marker survives pickling to a worker
    but not a change of layers.
    """
    district = bundle_from_sources([str(shared_osm("beijing_xueyuanlu.osm"))])
    assert len(district.community_ids()) >= 5
    for cid in district.community_ids():
        view = district.community(cid)
        assert view.community(cid) is view
        recomputed = Bundle(**view.layers(), findings=view.findings).community(cid)
        assert recomputed is not view
        for name, layer in view.layers().items():
            assert layer.equals(getattr(recomputed, name)), (cid, name)
    again = pickle.loads(pickle.dumps(view))
    assert again.community(cid) is again
    assert view.replace(units=view.units.iloc[:0]).community(cid) is not view
    with pytest.raises(Exception, match="no community"):
        view.community("not-there")


def test_a_geopackage_of_an_older_ridermap_without_name_en_still_reads(tmp_path, sample_bundle):
    """``name_en`` came later: a GeoPackage written before it reads with the column empty; any other missing
    column is still a one-line input error."""
    import pyogrio

    from ridermap.errors import InputError
    from ridermap.ingest.gpkg import bundle_from_gpkg
    from ridermap.publish.gpkg import write_gpkg

    path = tmp_path / "old.gpkg"
    for name, layer in sample_bundle.layers().items():
        pyogrio.write_dataframe(layer.drop(columns=["name_en"], errors="ignore"), path, layer=name, driver="GPKG")
    bundle = bundle_from_gpkg(path)
    assert list(bundle.communities["name_en"]) == [""] * len(bundle.communities)
    assert bundle.communities["name"].tolist() == sample_bundle.communities["name"].tolist()
    broken = tmp_path / "broken.gpkg"
    write_gpkg(sample_bundle, broken)
    gates = pyogrio.read_dataframe(broken, layer="gates").drop(columns=["rider_access"])
    pyogrio.write_dataframe(gates, broken, layer="gates", driver="GPKG")
    with pytest.raises(InputError, match="layer gates: missing column"):
        bundle_from_gpkg(broken)
