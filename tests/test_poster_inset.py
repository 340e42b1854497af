"""Posters: an inset at a larger scale for a dense part of the map (issue 10, the fallback step after callouts).

The bundles are ``test_poster_fit``'s tiny building in a huge block (the
real case of the issue: a 95 m² building "30" among garages in a 600,000 m²
block), and a block of 6 x 6 garages whose labels do not fit even as
callouts, which without an inset would need another paper.
"""

from __future__ import annotations

import shutil
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from test_poster import CID, CONFIG, _gdf, _poly
from test_poster_fit import tiny_building_bundle

from ridermap.errors import RenderError
from ridermap.model.bundle import Bundle
from ridermap.render import poster_inset
from ridermap.render.poster import render_poster
from ridermap.render.poster_labels import LabelRequest, PlacedLabel, boxes_overlap

GARAGES = {f"{CID}-b30", *(f"{CID}-g{k}" for k in range(1, 9))}


def garage_block(n: int) -> Bundle:
    """The tiny-building bundle with ``n`` x ``n`` garages numbered "i-j" 13 m apart instead of its eight."""
    b = tiny_building_bundle(garages=0)
    rows = [
        {
            "id": f"{CID}-k{i}{j}",
            "community_id": CID,
            "number": f"{i + 1}-{j + 1}",
            "label": "",
            "levels": 1,
            "source": f"osm:way/{900 + 10 * i + j}",
            "geometry": _poly(380 + i * 13, 380 + j * 13, 388 + i * 13, 390 + j * 13),
        }
        for i in range(n)
        for j in range(n)
    ]
    buildings = gpd.GeoDataFrame(pd.concat([b.buildings, _gdf(rows)], ignore_index=True), crs="EPSG:4326")
    return b.replace(buildings=buildings)


@pytest.fixture(scope="module")
def overview():
    poster = render_poster(tiny_building_bundle(), CID, config=CONFIG, paper="A2")
    yield poster
    poster.figure.clear()


@pytest.fixture(scope="module")
def gate_poster():
    poster = render_poster(tiny_building_bundle(), CID, gate="南门", config=CONFIG, paper="A2")
    yield poster
    poster.figure.clear()


@pytest.fixture(params=["overview", "gate_poster"])
def poster(request):
    return request.getfixturevalue(request.param)


def test_the_dense_part_goes_to_an_inset_at_a_larger_scale(poster):
    assert len(poster.insets) == 1
    inset = poster.insets[0]
    in_inset = [p for p in poster.labels if p.how == "inset"]
    assert {p.key for p in in_inset} == GARAGES == set(inset.keys)
    counts = poster.placements()
    assert counts["inset"] == 9 and counts["callout"] == counts["listed"] == 0
    assert 2 <= poster.scale / inset.scale <= 5 and inset.scale in (500, 600, 750, 1000, 1250)
    assert any(w.startswith("9 labels of a dense part had no room on A2") for w in poster.warnings)
    assert not poster.callouts  # nothing numbered beside the map


def test_inset_labels_lie_in_the_inset_map_and_overlap_nothing(poster):
    inset = poster.insets[0]
    mx0, my0, mx1, my1 = inset.map_box
    on_map = [p for p in poster.labels if p.how != "listed"]
    for p in on_map:
        x0, y0, x1, y1 = p.box
        inside = mx0 <= x0 and x1 <= mx1 and my0 <= y0 and y1 <= my1
        assert inside == (p.how == "inset"), p  # inset labels in the inset, every other label out of it
        assert boxes_overlap(p.box, inset.frame) == (p.how == "inset"), p
    for i, a in enumerate(on_map):
        for b in on_map[i + 1 :]:
            assert not boxes_overlap(a.box, b.box), (a, b)


def test_inset_covers_no_gate_here_mark_legend_or_qr(poster):
    inset = poster.insets[0]
    fx0, fy0, fx1, fy1 = poster.map_frame
    x0, y0, x1, y1 = inset.frame
    assert fx0 <= x0 and x1 <= fx1 and fy0 <= y0 and y1 <= fy1
    kinds = {s.kind for s in poster.symbols}
    assert any(k.startswith("gate:") for k in kinds)
    assert ("here" in kinds) == (poster.gate_id is not None)
    for s in poster.symbols:
        assert not boxes_overlap(s.box, inset.frame), s
    assert not boxes_overlap(poster.qr_box, inset.frame)
    page = poster.figure.axes[0]
    from ridermap.render.poster_page import MEASURE_DPI

    renderer = poster.figure.canvas.get_renderer()
    k = 25.4 / MEASURE_DPI
    panel = [t for t in page.texts if (t.get_gid() or "").startswith(("panel:", "legend", "grid", "scalebar"))]
    assert panel
    for t in panel:
        bb = t.get_window_extent(renderer=renderer)
        assert not boxes_overlap((bb.x0 * k, bb.y0 * k, bb.x1 * k, bb.y1 * k), inset.frame), t.get_text()


def test_the_area_is_marked_on_the_main_map_with_a_dashed_box_and_its_tag(poster):
    inset = poster.insets[0]
    main = poster.figure.axes[0]
    (box,) = [p for p in main.patches if p.get_gid() == "inset:A:area"]
    x, y = box.get_xy()
    assert (x, y, x + box.get_width(), y + box.get_height()) == pytest.approx(inset.area)
    assert box.get_linestyle() != "-" and box.get_facecolor()[3] == 0  # dashed, see-through
    tags = [t.get_text() for t in main.texts if t.get_gid() == "inset:A:tag"]
    assert tags == ["放大图 A"]
    assert not boxes_overlap(inset.tag_box, inset.frame)
    # the area holds what the inset shows: at the inset's scale it is the inset's map
    ratio = poster.scale / inset.scale
    aw, ah = inset.area[2] - inset.area[0], inset.area[3] - inset.area[1]
    mw, mh = inset.map_box[2] - inset.map_box[0], inset.map_box[3] - inset.map_box[1]
    assert (mw, mh) == pytest.approx((aw * ratio, ah * ratio))
    (ax_inset,) = [a for a in poster.figure.axes if a.get_gid() == "inset:A"]
    titles = [t.get_text() for t in ax_inset.texts if t.get_gid() == "inset:title"]
    assert titles == [f"放大图 A  比例尺 1:{inset.scale:,}"]


def test_inset_poster_pdf_has_the_labels_as_text_and_the_font_embedded(overview, tmp_path):
    from ridermap.publish.posters import save_poster

    if not (shutil.which("pdftotext") and shutil.which("pdffonts")):
        pytest.skip("poppler-utils absent")
    pdf = save_poster(overview, tmp_path / "inset.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    words = text.split()
    for number in ("30", "101", "102", "103", "104", "105", "106", "107", "108"):
        assert number in words, number
    assert "放大图 A" in text and f"1:{overview.insets[0].scale:,}" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [ln for ln in fonts.splitlines() if "NotoSansSC" in ln]
    assert rows and all(ln.split()[-5] == "yes" for ln in rows), fonts  # emb column


def test_a_few_callouts_stay_callouts():
    """Two callouts near the tiny building: fewer than INSET_MIN_LABELS, listed beside the map, no inset."""
    poster = render_poster(tiny_building_bundle(garages=3), CID, config=CONFIG, paper="A2")
    assert not poster.insets and 1 <= poster.placements()["callout"] < poster_inset.INSET_MIN_LABELS
    assert not [a for a in poster.figure.axes if a.get_gid() == "inset:A"]
    poster.figure.clear()


def test_an_inset_saves_the_paper_change(monkeypatch):
    """36 garages: not even callouts fit on A2 -- with the inset they all do; without, another paper is needed."""
    poster = render_poster(garage_block(6), CID, config=CONFIG, paper="A2")
    assert poster.paper == "A2" and poster.placements()["callout"] == 0
    in_inset = {p.key for p in poster.labels if p.how == "inset"}
    assert in_inset == {f"{CID}-k{i}{j}" for i in range(6) for j in range(6)} | {f"{CID}-b30"}  # 30 is among them
    poster.figure.clear()
    monkeypatch.setattr(poster_inset, "MAGNIFICATIONS", ())
    with pytest.raises(RenderError, match=r"labels do not fit — use a larger paper \(--paper A1\)"):
        render_poster(garage_block(6), CID, config=CONFIG, paper="A2")


def test_strict_fit_never_draws_an_inset():
    with pytest.raises(RenderError, match="no room for the building label"):
        render_poster(tiny_building_bundle(), CID, config=CONFIG, paper="A2", fit="strict")


def _req(key: str, x: float, y: float) -> LabelRequest:
    import numpy as np

    return LabelRequest(
        key, "building", key, 5.0, 5.0, (x, y), np.empty((0, 2)), shapely.box(x - 1, y - 1, x + 1, y + 1)
    )


def test_dense_cluster_is_the_largest_group_of_callouts_close_together():
    spots = {"a": (0, 0), "b": (10, 0), "c": (20, 5), "d": (200, 200), "e": (212, 200), "f": (100, 0)}
    requests = {k: _req(k, *xy) for k, xy in spots.items()}
    placed = [PlacedLabel(k, "building", k, (0, 0, 1, 1), how="callout") for k in spots]
    placed.append(PlacedLabel("n", "building", "n", (0, 0, 1, 1)))  # placed normally: never in a cluster
    requests["n"] = _req("n", 5, 5)
    assert poster_inset.dense_cluster(placed, requests, link_mm=12.0) == ["a", "b", "c"]
    assert poster_inset.dense_cluster(placed, requests, link_mm=5.0) == ["a"]  # all alone: the first
    assert poster_inset.dense_cluster(placed[-1:], requests, link_mm=12.0) == []
