"""The poster's parts one by one: page frame, content, map drawing, label placement, panels, furniture, layout loop.

Each part is a module of ``ridermap.render``; these tests call it directly
on small inputs (the inline compound of ``test_poster``), so a broken part
fails here by name rather than somewhere inside a whole poster.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box
from test_poster import CID, CONFIG, make_bundle

from ridermap.render import (
    poster,
    poster_content,
    poster_furniture,
    poster_labels,
    poster_map,
    poster_maplabels,
    poster_page,
    poster_panels,
)
from ridermap.render.fonts import font_family
from ridermap.render.poster_style import DEFAULT_STYLE, STRINGS, TEXT_SIZES

WORDS = STRINGS["zh"]


def _page(w: float = 297.0, h: float = 420.0) -> poster_page.Page:
    return poster_page.Page(w, h, family=font_family(), style=DEFAULT_STYLE, factor=0.8)


def _panel_type(page: poster_page.Page) -> poster_panels.PanelType:
    s = TEXT_SIZES["A3"]
    return poster_panels.PanelType(
        page,
        DEFAULT_STYLE,
        WORDS,
        "zh",
        s.body_mm,
        s.small_mm,
        s.heading_mm,
        page.line_mm(s.body_mm, 1.38),
        page.line_mm(s.heading_mm, 1.7),
        page.line_mm(s.small_mm, 1.4),
        9.6,
        60.0,
    )


# --------------------------------------------------------------------------- page frame


def test_sheet_landscape_with_bleed_and_crop_marks():
    sheet = poster_page.make_sheet("A3", True, 3.0, True, font_family(), DEFAULT_STYLE, 0.8)
    outer = 3.0 + poster_page.CROP_MARK_GAP_MM + poster_page.CROP_MARK_LEN_MM + 1.0
    assert sheet.trim == (outer, outer, outer + 420.0, outer + 297.0)
    assert sheet.bleed_box == (outer - 3, outer - 3, outer + 423.0, outer + 300.0)
    assert (sheet.page_w, sheet.page_h) == (420.0 + 2 * outer, 297.0 + 2 * outer)
    m = DEFAULT_STYLE.margin_mm * 0.8
    assert sheet.content == pytest.approx((outer + m, outer + m, outer + 420 - m, outer + 297 - m))


def test_type_helpers_are_inverse_and_wrap_respects_the_width():
    assert poster_page.cap_height_mm(poster_page.fontsize_pt(5.0)) == pytest.approx(5.0)
    assert 0.6 < poster_page.cap_ratio() < 0.8
    page = _page()
    lines = poster_page.wrap(
        "南门：可骑行进入（时段 Mo-Su 07:00-22:00，其余时间停车步行）", 40.0, lambda s: page.measure(s, 3.5)
    )
    assert len(lines) > 1 and all(page.measure(ln, 3.5) <= 40.0 + 1e-6 for ln in lines)
    assert not any(ln.startswith(("）", "，")) for ln in lines)  # no closing punctuation at a line start
    w1, h1 = poster_page.label_size(page, "12", 4.0, DEFAULT_STYLE.unit_label)
    w2, h2 = poster_page.label_size(page, "12", 8.0, DEFAULT_STYLE.unit_label)
    assert w2 > w1 and h2 > h1 and not page.ax.texts  # measuring leaves nothing on the page


def test_header_band_holds_title_and_returns_its_bottom():
    sheet = poster_page.make_sheet("A4", False, 0.0, False, font_family(), DEFAULT_STYLE, 0.6)
    bottom = poster_page.draw_header(sheet, "测试苑 骑手指引图", "您在这里：南门", TEXT_SIZES["A4"], DEFAULT_STYLE, 0.0)
    texts = {t.get_gid(): t for t in sheet.page.ax.texts}
    assert texts["title"].get_text() == "测试苑 骑手指引图" and texts["subtitle"].get_text() == "您在这里：南门"
    assert sheet.trim[1] < bottom < sheet.trim[3] - TEXT_SIZES["A4"].title_mm


# --------------------------------------------------------------------------- content


def test_find_gate_and_access_text():
    b = make_bundle()
    assert poster_content.find_gate(b, CID, "东门") == f"{CID}-ge"
    row = b.gates[b.gates["name"] == "南门"].iloc[0]
    assert poster_content.access_text(row, "zh", WORDS) == "可骑行进入（时段 每天 07:00–22:00，其余时间停车步行）"
    assert poster_content.gate_key(row) == "ride"


def test_undrawable_notes_name_feature_column_and_code_points():
    from ridermap.render.fonts import drawable_bundle

    b = make_bundle()
    g = b.gates.copy()
    g.loc[0, "name"] = "南\u202e门\U0001f6aa"
    b = b.replace(gates=g)
    notes = poster_content.undrawable_notes(b, drawable_bundle(b))
    assert notes == [
        f"gate {CID}-gs name '南门□': characters the font cannot draw were replaced by □ or dropped (U+202E U+1F6AA)"
    ]
    assert poster_content.undrawable_notes(make_bundle(), make_bundle()) == []


# --------------------------------------------------------------------------- map drawing


def test_project_faces_into_the_compound_and_keeps_far_gates_off_the_extent():
    b = make_bundle()
    east = poster_map.project(b, CID, f"{CID}-ge")
    assert math.degrees(east.theta) == pytest.approx(-90.0, abs=5.0)  # facing west: east gate at the bottom
    assert not east.far_gates and 150 < east.ext_h < 260  # compound and nearby facilities, turned
    gates = b.gates.copy()
    gates.loc[gates["id"] == f"{CID}-gn", "geometry"] = [Point(104.08 + 0.05, 30.65)]  # about 4.8 km east
    far = poster_map.project(b.replace(gates=gates), CID, None)
    assert set(far.far_gates) == {f"{CID}-gn"} and 4500 < far.far_gates[f"{CID}-gn"] < 5200
    assert far.ext_w < 300, "the far gate must not widen the map"


def test_map_frame_scale_is_round_and_fits_the_extent():
    geo = poster_map.project(make_bundle(), CID, None)
    frame, scale, grid, matrix = poster_map.map_frame(
        geo, (10.0, 10.0, 190.0, 150.0), band=4.0, strip_h=12.0, style=DEFAULT_STYLE, f=0.6
    )
    assert frame == (14.0, 26.0, 186.0, 146.0)
    from ridermap.render.poster_grid import nice_scale

    assert nice_scale(scale) == scale
    assert geo.ext_w * 1000 / scale <= frame[2] - frame[0] and geo.ext_h * 1000 / scale <= frame[3] - frame[1]
    comp = shapely.affinity.affine_transform(geo.poly_m, matrix)
    assert box(*frame).contains(comp)
    with pytest.raises(poster_labels.LabelFitError, match="no room left for the map"):
        poster_map.map_frame(geo, (0.0, 0.0, 50.0, 30.0), band=4.0, strip_h=12.0, style=DEFAULT_STYLE, f=0.6)


def test_draw_symbols_skips_you_are_here_for_a_gate_off_the_map():
    b = make_bundle()
    geo = poster_map.project(b, CID, f"{CID}-gs")
    page = _page()
    frame = (10.0, 10.0, 20.0, 20.0)  # a frame that holds none of the compound
    matrix = poster_map.affine(geo.theta, 1000, geo.centre_m, (500.0, 500.0))
    marks = poster_map.draw_symbols(page, geo.layers, f"{CID}-gs", matrix, frame, DEFAULT_STYLE, 0.8, [])
    assert marks.here_xy is None and not marks.symbols


# --------------------------------------------------------------------------- label placement


def test_sizes_below_and_callout_numbers():
    fb = poster_labels.Fallbacks(4.0, 60.0, poster_maplabels.callout_number, 4.0)
    assert fb.sizes_below(10.0)[-1] == 4.0 and all(
        a > b for a, b in zip(fb.sizes_below(10.0), fb.sizes_below(10.0)[1:])
    )
    assert fb.sizes_below(4.0) == []
    assert [poster_maplabels.callout_number(n) for n in (1, 20, 21, 35, 36, 50, 51)] == [
        "①",
        "⑳",
        "㉑",
        "㉟",
        "㊱",
        "㊿",
        "(51)",
    ]


def _req(key, anchor, w=10.0, h=6.0, reach=20.0, remake=True, feature=None, prefer=90.0):
    def make(cap, r, text=None, anchor=anchor):
        ww, hh = (w * cap / 8.0, h * cap / 8.0) if text is None else (5.0, 5.0)
        c = poster_labels.ring_candidates(anchor, ww, hh, start_mm=1.0, step_mm=1.0, reach_mm=r, prefer_deg=prefer)
        return poster_labels.LabelRequest(
            key, "unit", text or key, ww, hh, anchor, c, feature, cap_mm=cap, remake=make if remake else None
        )

    return make(8.0, reach)


def test_vectorised_leaders_equal_the_single_leader():
    feature = box(0, 0, 10, 4)
    req = poster_labels.LabelRequest("b", "building", "1", 6.0, 5.0, (5.0, 2.0), np.empty((0, 2)), feature)
    boxes = np.array([[12.0, 0.0, 18.0, 5.0], [0.5, 4.5, 6.5, 9.5], [-30.0, 20.0, -24.0, 25.0]])
    starts, ends, needs = poster_labels._leaders(req, boxes, touch_mm=1.5)
    for i, b in enumerate(boxes):
        one = poster_labels._leader(req, tuple(b), touch_mm=1.5)
        assert (one is None) == (not needs[i])
        if one is not None:
            assert one == ((starts[i, 0], starts[i, 1]), (ends[i, 0], ends[i, 1]))


def test_placer_falls_back_in_order_and_keeps_leaders_off_gate_symbols():
    bounds = (30.0, 20.0, 100.0, 80.0)  # room only to the right of the wall
    # a wall of symbols around (50, 50) leaves no room within 20 mm at full size
    ring = [
        (50 + r * math.cos(a), 50 + r * math.sin(a))
        for r in np.arange(2, 26, 2.0)
        for a in np.linspace(0, 2 * math.pi, 72, endpoint=False)
    ]
    obstacles = [(x - 1.2, y - 1.2, x + 1.2, y + 1.2) for x, y in ring]
    gate = (70.0, 47.0, 74.0, 53.0)  # a gate symbol in the wall, right of the anchor
    fb = poster_labels.Fallbacks(4.0, 45.0, poster_maplabels.callout_number, 4.0)
    with pytest.raises(poster_labels.LabelFitError):
        poster_labels.place_labels([_req("a", (50.0, 50.0))], bounds=bounds, obstacles=obstacles, gap_mm=0.5)
    kw = dict(bounds=bounds, obstacles=obstacles + [gate], gap_mm=0.5, fallbacks=fb)
    careless = poster_labels.place_labels([_req("a", (50.0, 50.0), prefer=0.0)], **kw)
    assert shapely.LineString(careless[0].leader).intersects(box(*gate)), "the test needs a leader across the gate"
    (a,) = poster_labels.place_labels(
        [_req("a", (50.0, 50.0), prefer=0.0)], keep_clear=[gate], keep_clear_keys=["g"], **kw
    )
    assert a.how == "leader" and a.leader is not None
    assert not shapely.LineString(a.leader).intersects(box(*gate))
    (own,) = poster_labels.place_labels(
        [_req("g", (50.0, 50.0), prefer=0.0)], keep_clear=[gate], keep_clear_keys=["g"], **kw
    )
    assert own.box == careless[0].box  # a label's leader may cross its own gate symbol
    # without the far tier (remake None) a label that has no room is an error, never dropped
    with pytest.raises(poster_labels.LabelFitError):
        poster_labels.place_labels(
            [_req("b", (50.0, 50.0), remake=False)], bounds=bounds, obstacles=obstacles, gap_mm=0.5, fallbacks=fb
        )


def test_placer_last_resort_lists_a_label_with_no_room_at_all():
    bounds = (0.0, 0.0, 20.0, 20.0)
    obstacles = [(0.0, 0.0, 20.0, 20.0)]  # the whole map is covered
    fb = poster_labels.Fallbacks(4.0, 45.0, poster_maplabels.callout_number, 4.0, last_resort=True)
    (a,) = poster_labels.place_labels(
        [_req("a", (10.0, 10.0))], bounds=bounds, obstacles=obstacles, gap_mm=0.5, fallbacks=fb
    )
    assert a.how == "listed" and a.box == (10.0, 10.0, 10.0, 10.0) and a.shown == "" and a.callout == 0
    strict = poster_labels.Fallbacks(4.0, 45.0, poster_maplabels.callout_number, 4.0)
    with pytest.raises(poster_labels.LabelFitError, match="no room for the unit label 'a'"):
        poster_labels.place_labels(
            [_req("a", (10.0, 10.0))], bounds=bounds, obstacles=obstacles, gap_mm=0.5, fallbacks=strict
        )


def test_poster_requests_remake_smaller_and_as_callouts():
    b = make_bundle()
    p = poster.render_poster(b, CID, config=CONFIG, paper="A4")
    page = _page()
    geo = poster_map.project(b, CID, None)
    texts = poster_content.poster_texts(b, geo, CID, None, config=CONFIG, lang="zh", words=WORDS)
    frame = p.map_frame
    matrix = poster_map.affine(geo.theta, p.scale, geo.centre_m, ((frame[0] + frame[2]) / 2, (frame[1] + frame[3]) / 2))
    comp_mm, b_mm, drawn = poster_map.draw_map(page, geo.layers, CID, matrix, frame, p.grid, DEFAULT_STYLE, 0.6)
    marks = poster_map.draw_symbols(page, geo.layers, None, matrix, frame, DEFAULT_STYLE, 0.6, drawn)
    reqs = poster_maplabels.label_requests(
        page,
        geo.layers,
        None,
        marks,
        texts,
        comp_mm,
        poster_map.clip(b_mm, frame),
        sizes=TEXT_SIZES["A4"],
        style=DEFAULT_STYLE,
        words=WORDS,
        gate_marks=True,
        f=0.6,
    )
    building = next(r for r in reqs if r.kind == "building")
    small = building.remake(4.0, 18.0, None)
    number = building.remake(4.0, 18.0, "①")
    assert small.width_mm < building.width_mm and small.cap_mm == 4.0 and small.text == building.text
    assert number.text == "①" and number.height_mm < building.height_mm
    assert building.remake(4.0, 18.0, None) is small  # made once
    p.figure.clear()


# --------------------------------------------------------------------------- panels


def test_columns_keep_chains_together_and_report_overflow():
    rows = [
        poster_panels.Row("head", "图例", 10.0, None, True),
        poster_panels.Row("legend", "a", 5.0),
        poster_panels.Row("legend", "b", 5.0),
        poster_panels.Row("head", "出入口", 10.0, None, True),
        poster_panels.Row("gate", "南门", 5.0),
    ]
    assert poster_panels.columns(rows, 20.0, 2) == [(0, 0.0), (0, 10.0), (0, 15.0), (1, 0.0), (1, 10.0)]
    assert poster_panels.columns(rows, 20.0, 1) is None
    assert poster_panels._runs(["1", "2", "3", "5", "6", "B1"]) == ["1-3", "5,6", "B1"]


def test_callout_rows_list_numbers_names_and_squares():
    ty = _panel_type(_page())
    rows = poster_panels.callout_rows(ty, [("①", "30号楼", "G4"), ("·", "1号楼 24单元", "G8")])
    assert [r.kind for r in rows] == ["head", "callout", "callout"]
    assert rows[0].text == "图中编号（· 图上未标注）" and rows[1].text == "① 30号楼 G4"
    assert poster_panels.callout_rows(ty, []) == []
    assert poster_panels.callout_rows(ty, [("①", "30号楼", "G4")])[0].text == "图中编号"


def test_split_page_gives_the_map_what_the_panel_leaves():
    rows = [poster_panels.Row("legend", str(i), 6.0) for i in range(20)]
    content = (10.0, 10.0, 287.0, 410.0)
    panel, block, n = poster_panels.split_page(
        rows,
        0,
        content=content,
        top=380.0,
        landscape=False,
        col_w=60.0,
        gap=5.0,
        qr_block_w=50.0,
        qr_block_h=60.0,
        head_line=8.0,
    )
    assert panel[1] == 10.0 and block[1] == pytest.approx(panel[3] + 5.0) and block[3] == 380.0 and n == 3
    with pytest.raises(poster_labels.LabelFitError, match="do not fit under the map"):
        poster_panels.split_page(
            rows * 40,
            0,
            content=content,
            top=380.0,
            landscape=False,
            col_w=60.0,
            gap=5.0,
            qr_block_w=50.0,
            qr_block_h=60.0,
            head_line=8.0,
        )


# --------------------------------------------------------------------------- furniture


def test_qr_place_portrait_and_landscape():
    portrait = poster_furniture.qr_place(
        (0.0, 0.0, 200.0, 80.0), landscape=False, qr_block_w=50.0, qr_block_h=70.0, gap=5.0
    )
    assert portrait == (150.0, 80.0, (0.0, 0.0, 145.0, 80.0))
    landscape = poster_furniture.qr_place(
        (300.0, 0.0, 400.0, 280.0), landscape=True, qr_block_w=50.0, qr_block_h=70.0, gap=5.0
    )
    assert landscape == (300.0, 70.0, (300.0, 75.0, 400.0, 280.0))


def test_scale_bar_is_a_round_length_and_north_arrow_turns():
    from ridermap.render.poster_grid import make_grid

    page = _page()
    grid = make_grid((10.0, 50.0, 200.0, 300.0), scale=1500, square_mm=40.0)
    poster_furniture.scale_bar(
        page, x0=10.0, y0=20.0, height=15.0, scale=1500, frame_w=190.0, words=WORDS, body=3.5, small=2.6, grid=grid
    )
    labels = [t.get_text() for t in page.ax.texts if t.get_gid() == "scalebar"]
    assert labels[0] == "0" and labels[1] in ("50 m", "25 m", "20 m") and "1:1,500" in labels[2]
    poster_furniture.north_arrow(page, cx=100.0, cy=100.0, size=10.0, angle_deg=-90.0, label="北", body=3.5)
    tip = next(p for p in page.ax.patches if p.get_gid() == "north").get_xy()[0]
    assert tip[0] == pytest.approx(105.0) and tip[1] == pytest.approx(100.0)  # north points right


def test_crop_marks_stay_outside_the_trim():
    page = _page()
    trim = (20.0, 20.0, 230.0, 317.0)
    poster_furniture.crop_marks(page, trim, offset=4.0, length=6.0)
    (marks,) = [c for c in page.ax.collections if c.get_gid() == "crop_marks"]
    for seg in marks.get_segments():
        assert not box(*trim).buffer(-1e-9).intersects(shapely.LineString(seg))


# --------------------------------------------------------------------------- the layout loop


def test_layout_loop_relays_out_with_the_rows_it_needs_and_stops_when_a_pass_repeats(monkeypatch):
    calls = []
    rows = [poster_panels.Row("index", "1号楼 A1", 5.0)]

    def fake_render(job, *, reserved):
        calls.append(reserved)
        return poster._Overflow(rows) if len(calls) < 2 else "poster"

    from types import SimpleNamespace

    job = SimpleNamespace(fit="fallback", short_list=False, cid=CID)
    monkeypatch.setattr(poster, "_render", fake_render)
    monkeypatch.setattr(poster, "Poster", str)
    assert poster._layout_passes(job) == "poster" and calls == [None, rows]
    calls.clear()
    monkeypatch.setattr(poster, "_render", lambda job, *, reserved: calls.append(reserved) or poster._Overflow(rows))
    with pytest.raises(poster_labels.LabelFitError, match=r"\(1 rows\) do not fit in the panel"):
        poster._layout_passes(job)
    assert calls == [None, rows]  # the second pass needed the same rows: a third could not help
    assert poster.MAX_LAYOUT_PASSES == 3
