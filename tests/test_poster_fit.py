"""Posters never fail for fit: the label fallback chain, far gates, undrawable names, and a district build.

The fallbacks, in order: a smaller size, a leader line to free space, a
numbered callout listed beside the map, an inset at a larger scale for a
dense part (test_poster_inset), then (publish) another paper, and
as the very last resort labels only listed beside the map. Bundles are the
inline compound of ``test_poster`` changed the way real data go wrong: a tiny
building in a huge residential block, a name with an emoji and a bidi
override, a gate 5 km from its compound.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import affinity
from test_poster import CID, CONFIG, _gdf, _poly, make_bundle

from ridermap.model.bundle import Bundle, concat_bundles
from ridermap.publish.posters import render_fitting_poster
from ridermap.render.poster import render_poster
from ridermap.render.poster_labels import boxes_overlap
from ridermap.render.poster_style import MIN_LABEL_CAP_MM

TINY = "510104-tny"
EMOJI = "510104-emj"
FAR = "510104-far"


def renamed(bundle: Bundle, cid: str, *, east_km: float = 0.0) -> Bundle:
    """The bundle with ``CID`` replaced by ``cid`` in every id and moved ``east_km`` east."""
    layers = {}
    for name, layer in bundle.layers().items():
        layer = layer.copy()
        for col in ("id", "community_id", "building_id"):
            if col in layer:
                layer[col] = [str(v).replace(CID, cid) for v in layer[col]]
        dx = east_km / 96.0  # degrees of longitude per km at 30.65° N, roughly
        layers[name] = layer.set_geometry(layer.geometry.map(lambda g, dx=dx: affinity.translate(g, xoff=dx)))
    return bundle.replace(**layers)


def tiny_building_bundle(*, garages: int = 8) -> Bundle:
    """A 95 m² building numbered 30 among ``garages`` (up to eight) garages, in a 775 m x 775 m (600,625 m²) block."""
    gates = [
        ("gs", "南门", "ride", "Mo-Su 07:00-22:00", False, (80, 0)),
        ("ge", "东门", "walk", "", False, (775, 60)),
        ("gn", "北门", "none", "", True, (80, 775)),
    ]
    b = make_bundle(gates=gates)
    comm = b.communities.copy()
    comm["geometry"] = [_poly(0, 0, 775, 775)]
    rows = [
        {
            "id": f"{CID}-b30",
            "community_id": CID,
            "number": "30",
            "label": "30号楼",
            "levels": 1,
            "source": "osm:way/130",
            "geometry": _poly(450, 450, 459.75, 459.75),
        }
    ]
    k = 0
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            if (i or j) and k < garages:
                k += 1
                x, y = 450 + i * 13, 450 + j * 13
                rows.append(
                    {
                        "id": f"{CID}-g{k}",
                        "community_id": CID,
                        "number": str(100 + k),
                        "label": "",
                        "levels": 1,
                        "source": f"osm:way/{200 + k}",
                        "geometry": _poly(x, y, x + 8, y + 10),
                    }
                )
    buildings = gpd.GeoDataFrame(
        pd.concat([b.buildings, _gdf(rows)], ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    return b.replace(communities=comm, buildings=buildings)


def emoji_bundle() -> Bundle:
    """The compound named with an emoji and a right-to-left override, its south gate too."""
    gates = [("gs", "南\u202e门\U0001f6aa", "ride", "", False, (80, 0)), ("ge", "东门", "walk", "", False, (160, 60))]
    b = make_bundle(gates=gates)
    comm = b.communities.copy()
    comm["name"] = "测试苑\U0001f3e0\u202e"
    return b.replace(communities=comm)


def far_gate_bundle() -> Bundle:
    """The compound with its east gate 5 km east of where it belongs."""
    b = make_bundle()
    gates = b.gates.copy()
    east = gates["id"] == f"{CID}-ge"
    gates.loc[east, "geometry"] = gates.loc[east, "geometry"].map(lambda g: affinity.translate(g, xoff=5.0 / 96.0))
    return b.replace(gates=gates)


# --------------------------------------------------------------------------- the fallback chain on one poster


@pytest.fixture(scope="module")
def tiny_a2():
    """The tiny building among eight garages: the nine labels go to an inset (test_poster_inset)."""
    poster = render_poster(tiny_building_bundle(), CID, config=CONFIG, paper="A2")
    yield poster
    poster.figure.clear()


@pytest.fixture(scope="module")
def few_a2():
    """The tiny building among three garages: two labels become callouts, too few for an inset."""
    poster = render_poster(tiny_building_bundle(garages=3), CID, config=CONFIG, paper="A2")
    yield poster
    poster.figure.clear()


@pytest.fixture(params=["tiny_a2", "few_a2"])
def fallback_poster(request):
    return request.getfixturevalue(request.param)


def test_tiny_building_does_not_fit_as_asked(tiny_a2):
    """The case is real: without fallbacks the labels do not fit on A2 (nor A0)."""
    from ridermap.errors import RenderError

    for paper in ("A2", "A0"):
        with pytest.raises(RenderError, match="no room for the building label"):
            render_poster(tiny_building_bundle(), CID, config=CONFIG, paper=paper, fit="strict")


def test_tiny_building_label_placed_by_a_fallback_on_the_asked_paper(tiny_a2, few_a2):
    for poster, garages, how, fallback in ((tiny_a2, 8, "inset", "inset"), (few_a2, 3, "callout", "callout")):
        assert (poster.paper, poster.landscape) == ("A2", False)
        tiny = next(p for p in poster.labels if p.key == f"{CID}-b30")
        assert tiny.how == how
        counts = poster.placements()
        assert counts["listed"] == 0 and counts[fallback] >= 1
        # every numbered building of the compound is on the map, as its number, its callout or in the inset
        expected = set(poster_bundle_ids(tiny_building_bundle(garages=garages)))
        assert {p.key for p in poster.labels if p.kind == "building"} == expected


def poster_bundle_ids(bundle: Bundle) -> list[str]:
    return [str(i) for i, n in zip(bundle.buildings["id"], bundle.buildings["number"]) if n]


def test_callouts_are_numbered_drawn_and_listed_beside_the_map(few_a2):
    poster = few_a2
    callouts = [p for p in poster.labels if p.how == "callout"]
    assert [p.callout for p in sorted(callouts, key=lambda p: p.callout)] == list(range(1, len(callouts) + 1))
    texts = {t.get_gid(): t.get_text() for t in poster.figure.axes[0].texts if t.get_gid()}
    for p in callouts:
        assert texts[f"label:building:{p.key}"] == p.callout_text == chr(0x2460 + p.callout - 1)
        assert p.cap_mm == MIN_LABEL_CAP_MM
    panel = [t.get_text() for t in poster.figure.axes[0].texts if t.get_gid() in ("panel:callout", "panel:head")]
    assert "图中编号" in panel
    tiny = next(p for p in callouts if p.key == f"{CID}-b30") if any(p.key == f"{CID}-b30" for p in callouts) else None
    if tiny is not None:
        assert any(re.fullmatch(rf"{tiny.callout_text} 30号楼 [A-Z]+\d+", t) for t in panel), panel
    assert [n for n, _ in poster.callouts] == [p.callout_text for p in sorted(callouts, key=lambda p: p.callout)]
    assert all(w.startswith("building label") and "numbered" in w for w in poster.warnings)


def test_no_label_callout_or_leader_covers_another_label_or_a_gate_symbol(fallback_poster):
    import shapely

    poster = fallback_poster
    on_map = [p for p in poster.labels if p.how != "listed"]
    for i, a in enumerate(on_map):
        for b in on_map[i + 1 :]:
            assert not boxes_overlap(a.box, b.box), (a, b)
        for s in poster.symbols:
            assert not boxes_overlap(a.box, s.box), (a, s)
    gates = [s for s in poster.symbols if s.kind.startswith("gate:") or s.kind == "here"]
    for p in on_map:
        if p.leader is None:
            continue
        line = shapely.LineString(p.leader)
        for other in on_map:
            if other is not p:
                assert not line.intersects(shapely.box(*other.box)), (p, other)
        for g in gates:
            if g.key != p.key:
                assert not line.intersects(shapely.box(*g.box)), (p, g)


def test_smaller_sizes_never_go_below_the_legible_minimum(fallback_poster):
    assert min(p.cap_mm for p in fallback_poster.labels) >= MIN_LABEL_CAP_MM - 1e-9
    from ridermap.render.poster import cap_height_mm

    for t in (t for ax in fallback_poster.figure.axes for t in ax.texts):
        if (t.get_gid() or "").startswith("label:"):
            assert cap_height_mm(t.get_fontsize()) >= MIN_LABEL_CAP_MM - 1e-6


def test_inferred_items_stay_marked_in_the_callout_list():
    b = tiny_building_bundle(garages=3)
    bl = b.buildings.copy()
    bl["inferred"] = ["number" if str(i).endswith(("-g1", "-g2", "-g3", "-b30")) else "" for i in bl["id"]]
    poster = render_poster(b.replace(buildings=bl), CID, config=CONFIG, paper="A2")
    marked = {full for _, full in poster.callouts if full.endswith("（待核实）")}
    inferred = {str(i) for i in bl["id"][bl["inferred"] == "number"]}
    called = {p.key for p in poster.labels if p.how == "callout"}
    assert called & inferred, "the test needs an inferred building among the callouts"
    assert len(marked) == len(called & inferred)
    poster.figure.clear()


def test_strict_and_fitting_posters_are_unchanged_by_the_fallbacks():
    """A poster that fits is placed exactly as without fallbacks (every label ``normal``)."""
    b = make_bundle()
    a = render_poster(b, CID, gate="南门", config=CONFIG, paper="A4")
    s = render_poster(b, CID, gate="南门", config=CONFIG, paper="A4", fit="strict")
    assert [(p.key, p.box, p.leader) for p in a.labels] == [(p.key, p.box, p.leader) for p in s.labels]
    assert set(a.placements()) >= {"normal"} and a.placements()["normal"] == len(a.labels) and not a.warnings


def test_last_resort_lists_what_has_no_room_and_never_raises_for_labels(monkeypatch):
    """40 unit doors on a 50 m wall do not fit A2; the last resort prints them, listing what has no room."""
    import ridermap.publish.posters as posters
    from ridermap.errors import RenderError

    crowded = make_bundle(units_per_building=40)
    with pytest.raises(RenderError, match=r"larger paper \(--paper A1\)"):
        render_poster(crowded, CID, gate="南门", config=CONFIG, paper="A2")
    monkeypatch.setattr(posters, "paper_attempts", lambda paper, landscape=False: [("A2", False)])
    poster, warning = render_fitting_poster(crowded.community(CID), CID, gate="南门", config=CONFIG, paper="A2")
    listed = [p for p in poster.labels if p.how == "listed"]
    assert listed and poster.paper == "A2"
    assert re.match(
        rf"labels did not fit even as callouts on any paper: printed on A2 with {len(listed)} labels only "
        "listed beside the map",
        warning,
    ), warning
    assert {p.key for p in poster.labels if p.kind == "unit"} == set(crowded.units["id"])  # none dropped
    rows = [t.get_text() for t in poster.figure.axes[0].texts if t.get_gid() == "panel:callout"]
    assert sum(r.startswith("· ") for r in rows) == len(listed)
    assert "图中编号（· 图上未标注）" in [t.get_text() for t in poster.figure.axes[0].texts]
    poster.figure.clear()


def test_fit_mode_is_checked():
    from ridermap.errors import ConfigError

    with pytest.raises(ConfigError, match="fit must be one of"):
        render_poster(make_bundle(), CID, config=CONFIG, paper="A4", fit="shrink")


# --------------------------------------------------------------------------- far gates and undrawable names


def test_a_gate_5_km_away_is_named_and_left_off_the_map_not_a_label_error():
    b = far_gate_bundle()
    overview = render_poster(b, CID, config=CONFIG, paper="A2")
    assert overview.scale <= 1000, "the far gate must not shrink the map to a dot"
    assert f"{CID}-ge" not in {s.key for s in overview.symbols}
    assert any(
        re.fullmatch(rf"gate {CID}-ge is 5\.\d km from its compound's outline: check its location .*", w)
        for w in overview.warnings
    ), overview.warnings
    own = render_poster(b, CID, gate="东门", config=CONFIG, paper="A2")
    assert "here" not in {s.kind for s in own.symbols}
    assert re.search(r"东门（距小区 5\.\d 公里，位置待核实）", own.subtitle), own.subtitle
    assert own.scale <= 1000
    others = render_poster(b, CID, gate="南门", config=CONFIG, paper="A2")
    assert "here" in {s.kind for s in others.symbols} and not others.warnings
    for p in (overview, own, others):
        p.figure.clear()


def test_undrawable_characters_are_a_warning_naming_the_feature():
    poster = render_poster(emoji_bundle(), CID, gate=f"{CID}-gs", config=CONFIG, paper="A4")
    assert poster.title.startswith("测试苑□")
    notes = [w for w in poster.warnings if "characters the font cannot draw" in w]
    assert any(w.startswith(f"community {CID} name '测试苑□'") and "U+1F3E0" in w and "U+202E" in w for w in notes)
    assert any(w.startswith(f"gate {CID}-gs name '南门□'") for w in notes)
    poster.figure.clear()


# --------------------------------------------------------------------------- a district through the real build


def _district(tmp_path):
    from ridermap.publish.gpkg import write_gpkg

    bundle = concat_bundles(
        [
            renamed(tiny_building_bundle(), TINY),
            renamed(emoji_bundle(), EMOJI, east_km=3.0),
            renamed(far_gate_bundle(), FAR, east_km=12.0),
        ]
    )
    write_gpkg(bundle, tmp_path / "district.gpkg")
    cfg = tmp_path / "ridermap.toml"
    cfg.write_text(
        '[project]\nadmin_code = "510104"\ndata_date = "2026-11"\n\n[[sources]]\npath = "district.gpkg"\n\n'
        '[build]\nworkers = 1\noutputs = ["gpkg", "validation", "posters"]\n',
        encoding="utf-8",
    )
    return bundle, cfg


def test_district_build_finishes_every_compound_and_names_the_three_causes(tmp_path):
    from cli import main

    bundle, cfg = _district(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(cfg), "-o", str(out)])
    assert "Traceback" not in result.output
    # the far gate is a data error (validation: gate_far_from_compound), so exit 1 as the README says; nothing failed
    assert result.exit_code == 1, result.output
    report = json.loads((out / "build.json").read_text(encoding="utf-8"))
    by_id = {c["community"]: c for c in report["compounds"]}
    assert set(by_id) == {TINY, EMOJI, FAR}
    assert all(c["status"] != "failed" for c in by_id.values()), by_id
    assert by_id[TINY]["status"] == by_id[EMOJI]["status"] == "ok"
    assert by_id[FAR]["status"] == "data_errors"
    warnings = {cid: " | ".join(c["warnings"]) for cid, c in by_id.items()}
    assert re.search(
        rf"{TINY}-overview: 9 labels of a dense part had no room on A2 at 1:[\d,]+: drawn in inset A at 1:\d+ "
        rf"\({TINY}-b30, ",
        warnings[TINY],
    ), warnings[TINY]
    assert "printed on A1" not in warnings[TINY] and "printed on A0" not in warnings[TINY]
    assert re.search(rf"community {EMOJI} name '测试苑□': characters the font cannot draw", warnings[EMOJI])
    assert warnings[EMOJI].count("characters the font cannot draw") == 2  # community and gate, once each
    assert re.search(rf"gate {FAR}-ge is 5\.\d km from its compound's outline: check its location", warnings[FAR])
    validation = (out / "validation.txt").read_text(encoding="utf-8")
    assert f"{FAR}-ge" in validation and "gate_far_from_compound" in validation
    assert "no room for the" not in result.output  # no label error, least of all about another gate
    for cid in (TINY, EMOJI, FAR):
        gates = bundle.gates["id"][bundle.gates["community_id"] == cid]
        for stem in [f"{cid}-overview", *gates]:
            pdf = out / "posters" / cid / f"{stem}.pdf"
            assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-", pdf


def test_last_resort_shortens_a_panel_that_fits_no_paper():
    """28 doors per wall on A4: even listed, the labels and the index overflow the panel; it is shortened, not lost."""
    crowded = make_bundle(units_per_building=28)
    poster = render_poster(crowded, CID, gate="南门", config=CONFIG, paper="A4", fit="last_resort")
    listed = [p for p in poster.labels if p.how == "listed"]
    panel = re.sub(
        r"\s+",
        "",
        "".join(t.get_text() for t in poster.figure.axes[0].texts if (t.get_gid() or "").startswith("panel:")),
    )
    assert f"·另有{len(listed)}个楼号或单元号图上无位置，请扫码查看" in panel and "索引过长，请扫码查看" in panel
    assert "1号楼" not in panel  # neither the index nor the listed labels one by one
    assert any("index of buildings and units is left out on A4" in w for w in poster.warnings)
    assert any(f"the {len(listed)} labels with no room on the map are summed up" in w for w in poster.warnings)
    assert {p.key for p in poster.labels if p.kind == "unit"} == set(crowded.units["id"])  # none dropped
    poster.figure.clear()
