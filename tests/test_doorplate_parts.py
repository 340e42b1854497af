"""Each part of ridermap.render.doorplate on its own: content, layout, draw, imposition (and how they stack).

The whole chain (bundle -> plates -> sheets PDF -> decoded) is tested in test_doorplates.py.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import ridermap.render.doorplate as package
from ridermap.errors import RenderError
from ridermap.render.doorplate import content, draw, imposition, layout
from ridermap.render.qr import QUIET_ZONE, module_runs, qr_symbol

PLATE = content.Plate(
    plate_id="510104-tst-b7-u2",
    kind="unit",
    community_id="510104-tst",
    payload="https://rider.example.cn/u/510104-tst-b7-u2.html",
    address="测试苑 7号楼 2单元",
    headline="2单元",
    details=("户号 101-602",),
    plus_code="Plus Code 8P26M33Q+97F",
    caption="扫码导航",
)

#: each part may import only the parts before it (pdf and text are the helpers)
ORDER = ["pdf", "text", "content", "layout", "draw", "imposition"]


def _imports(module: str) -> set[str]:
    tree = ast.parse((Path(package.__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ridermap.render.doorplate."):
            out.add(node.module.rsplit(".", 1)[1])
    return out


@pytest.mark.parametrize("module", ORDER)
def test_parts_import_only_the_parts_below_them(module):
    allowed = set(ORDER[: ORDER.index(module)])
    assert _imports(module) <= allowed, f"{module} imports {sorted(_imports(module) - allowed)}"


def test_the_package_keeps_its_public_names():
    for name in package.__all__:
        assert getattr(package, name) is not None
    assert package.plates_for_community is content.plates_for_community
    assert package.sheets_pdf is imposition.sheets_pdf and package.layout_plate is layout.layout_plate


# --------------------------------------------------------------------------- content
def test_plate_text_helpers():
    assert PLATE.all_text().endswith(PLATE.plate_id)
    assert PLATE.visible_text().splitlines() == [
        "",
        PLATE.address,
        "2单元",
        "户号 101-602",
        PLATE.plus_code,
        "扫码导航",
    ]
    assert content._label("12", "", "{n}号楼", "未编号楼栋") == ("12号楼", False)
    assert content._label("B3座", "3", "{n}号楼", "未编号楼栋") == ("B3座", False)
    assert content._label("", "", "{n}单元", "未编号单元") == ("未编号单元", True)
    assert sorted(["10", "9", "", "2A"], key=lambda n: content._sort_key(n, "z")) == ["9", "10", "2A", ""]


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_layout_places_the_qr_top_right_and_text_left_of_it(size):
    spec = layout.PLATE_SIZES[size]
    lay = layout.layout_plate(PLATE, size=size)
    x0, y0, x1, y1 = lay.qr_box_mm
    m = 0.07 * spec.height_mm
    assert (x1, y0) == pytest.approx((spec.width_mm - m, m))
    assert x1 - x0 == y1 - y0 == spec.qr_mm
    assert lay.text_box_mm[2] < x0  # the text column ends before the QR square
    sym = qr_symbol(PLATE.payload)
    assert np.array_equal(lay.runs, module_runs(sym.modules))
    assert lay.module_mm * (sym.size + 2 * QUIET_ZONE) == pytest.approx(spec.qr_mm)
    roles = [r.role for r in lay.texts]
    assert roles[:2] == ["address", "headline"] and {"detail", "caption", "plus_code"} <= set(roles)


def test_a_draft_band_pushes_the_qr_and_text_down():
    plain = layout.layout_plate(PLATE)
    drafted = layout.layout_plate(PLATE.__class__(**{**PLATE.__dict__, "draft": "草图 · 待核实"}))
    assert plain.band_mm is None and drafted.band_mm is not None
    assert drafted.qr_y_mm > drafted.band_mm[3] > plain.qr_y_mm
    assert [r.role for r in drafted.texts].count("draft") == 1


def test_a_payload_too_long_for_the_qr_square_is_refused():
    long = PLATE.__class__(**{**PLATE.__dict__, "payload": "https://rider.example.cn/" + "x" * 600})
    with pytest.raises(RenderError, match=re.escape(PLATE.plate_id) + ".*shorten base_url"):
        layout.layout_plate(long, size="small")
    with pytest.raises(RenderError, match="unknown plate size"):
        layout.plate_size("huge")


# --------------------------------------------------------------------------- draw
def test_plate_ops_fill_the_qr_once_in_module_units():
    lay = layout.layout_plate(PLATE)
    ops = draw.plate_ops(lay)
    qr_part = re.search(r"q (\S+) 0 0 (\S+) (\S+) (\S+) cm 0 g\n(.*?) f Q", ops, re.DOTALL)
    assert qr_part is not None
    module, _, qx, qy = map(float, qr_part.groups()[:4])
    assert module == pytest.approx(lay.module_mm, abs=1e-3)
    assert (qx, qy) == pytest.approx(
        (lay.qr_x_mm + QUIET_ZONE * lay.module_mm, lay.qr_y_mm + QUIET_ZONE * lay.module_mm), abs=1e-3
    )
    assert qr_part.group(5).count(" re") == len(lay.runs)
    assert ops.count("Tj") == len(lay.texts)


def test_svg_and_pdf_of_one_plate():
    lay = layout.layout_plate(PLATE, size="medium")
    svg = draw.layout_svg(lay)
    assert 'width="270mm" height="170mm"' in svg
    assert re.search(r'class="qr-modules"[^>]* d="([^"]+)"', svg).group(1).count("z") == len(lay.runs)
    pdf = draw.layout_pdf(lay)
    assert pdf.startswith(b"%PDF-1.4") and pdf.count(b"/Type /Page ") == 1


# --------------------------------------------------------------------------- imposition
def test_placement_maps_plate_boxes_to_the_page():
    straight = imposition.Placement(0, 0, 30.0, 7.5, 150.0, 90.0, False)
    assert straight.to_page(10, 20) == (40.0, 27.5)
    assert straight.box_on_page((1, 2, 3, 4)) == (31.0, 9.5, 33.0, 11.5)
    turned = imposition.Placement(0, 0, 10.0, 20.0, 90.0, 150.0, True)  # a 150×90 plate turned 90° clockwise
    assert turned.to_page(0, 0) == (100.0, 20.0)  # the plate's top-left goes to the box's top-right
    assert turned.to_page(150, 90) == (10.0, 170.0)
    assert turned.box_on_page((100, 5, 140, 45)) == (55.0, 120.0, 95.0, 160.0)
    assert turned.cm() == "0 1 -1 0 100 20 cm" and straight.cm() == "1 0 0 1 30 7.5 cm"


def test_impose_fills_pages_row_by_row():
    grid, placements = imposition.impose(8, size="small", sheet="A3")
    assert grid.per_page == 6 and grid.rotated
    assert [p.page for p in placements] == [0] * 6 + [1] * 2
    assert placements[0].x_mm < placements[1].x_mm and placements[0].y_mm == placements[1].y_mm
    assert (placements[6].x_mm, placements[6].y_mm) == (placements[0].x_mm, placements[0].y_mm)


def test_sheets_pdf_draws_each_plate_at_its_placement():
    lays = [layout.layout_plate(PLATE) for _ in range(4)]
    pdf, grid, _placements = imposition.sheets_pdf([PLATE] * 4, layouts=lays)
    assert grid.per_page == 3 and pdf.count(b"/Type /Page ") == 2
    with pytest.raises(RenderError, match="one per plate"):
        imposition.sheets_pdf([PLATE] * 2, layouts=lays)
    with pytest.raises(RenderError, match="no doorplates"):
        imposition.sheets_pdf([])


def test_qr_windows_of_one_column_are_rasterised_as_one_strip_and_each_plate_decodes_only_its_own():
    from ridermap.publish.doorplates import _strips

    column = [(780, 72, 255, 255), (780, 639, 255, 255), (780, 1206, 255, 255)]
    far = [(100, 0, 200, 200), (100, 2000, 200, 200)]  # a strip would be 11 times their area
    strips = dict((tuple(w for w in group), strip) for strip, group in _strips(column + far + [(300, 72, 255, 255)]))
    assert strips[tuple(column)] == (780, 72, 255, 1389)
    assert strips[(far[0],)] == (100, 0, 200, 200) and strips[(far[1],)] == (100, 2000, 200, 200)
    assert strips[((300, 72, 255, 255),)] == (300, 72, 255, 255)  # another column stays apart
    overlapping = [(0, 0, 100, 100), (0, 50, 100, 100)]
    assert len(_strips(overlapping)) == 2  # an image must hold one plate's code only
