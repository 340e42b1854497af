"""QR doorplates: content, geometry in mm, text fitting, PDF/SVG, imposition, decoding what is printed."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import MINSK_ID, SAMPLE_ID
from shapely.geometry import Point, Polygon

from ridermap.config import Config
from ridermap.errors import RenderError, VerificationError
from ridermap.model.bundle import Bundle
from ridermap.render import doorplate as dp
from ridermap.render.qr import qr_symbol
from ridermap.urls import absolute, building_path, gate_path, unit_path

CID = "510104-tst"
LONG_NAME = "成都市锦江区春熙路街道锦华苑东区二期骑手友好示范小区北苑住宅组团邻里中心服务站点"  # 40 characters
CONFIG = Config(base_url="https://rider.example.cn/", language="zh", admin_code="510104")

needs_pdftoppm = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) not installed")


def _box(x, y, d=0.0002):
    return Polygon([(x, y), (x + d, y), (x + d, y + d), (x, y + d)])


def make_bundle(name: str = "测试苑") -> Bundle:
    """A compound with numbered, bare-number, Cyrillic and unnumbered buildings and units."""
    x0, y0 = 104.08, 30.65
    crs = "EPSG:4326"
    communities = gpd.GeoDataFrame(
        {"id": [CID], "name": [name], "rider_access": ["ride"]},
        geometry=[
            Polygon(
                [(x0 - 0.001, y0 - 0.001), (x0 + 0.003, y0 - 0.001), (x0 + 0.003, y0 + 0.002), (x0 - 0.001, y0 + 0.002)]
            )
        ],
        crs=crs,
    )
    buildings = gpd.GeoDataFrame(
        {
            "id": [f"{CID}-b7", f"{CID}-b12", f"{CID}-b21", f"{CID}-b_w99"],
            "community_id": [CID] * 4,
            "number": ["7", "12", "21", ""],
            "label": ["7号楼", "12", "Дом Кругера", ""],
        },
        geometry=[_box(x0, y0), _box(x0 + 0.0005, y0), _box(x0 + 0.001, y0), _box(x0 + 0.0015, y0)],
        crs=crs,
    )
    units = gpd.GeoDataFrame(
        {
            "id": [f"{CID}-b7-u1", f"{CID}-b7-u2", f"{CID}-b12-u9H", f"{CID}-b21-u1", f"{CID}-b_w99-u_n5"],
            "community_id": [CID] * 5,
            "building_id": [f"{CID}-b7", f"{CID}-b7", f"{CID}-b12", f"{CID}-b21", f"{CID}-b_w99"],
            "number": ["1", "2", "9H", "1", ""],
            "label": ["1单元", "2单元", "9H", "", ""],
            "flats": ["101-602", "", "", "1-8", ""],
        },
        geometry=[
            Point(x0 + 0.0001, y0),
            Point(x0 + 0.00015, y0),
            Point(x0 + 0.0006, y0),
            Point(x0 + 0.0011, y0),
            Point(x0 + 0.0016, y0),
        ],
        crs=crs,
    )
    gates = gpd.GeoDataFrame(
        {
            "id": [f"{CID}-gs", f"{CID}-gn"],
            "community_id": [CID] * 2,
            "name": ["南门", ""],
            "rider_access": ["ride", "none"],
            "hours": ["Mo-Su 00:00-11:00,13:30-17:00,19:30-24:00", ""],
            "locked": [False, True],
        },
        geometry=[Point(x0 + 0.001, y0 - 0.001), Point(x0 + 0.001, y0 + 0.002)],
        crs=crs,
    )
    return Bundle.from_layers({"communities": communities, "buildings": buildings, "units": units, "gates": gates})


@pytest.fixture(scope="module")
def bundle():
    return make_bundle()


@pytest.fixture(scope="module")
def plates(bundle):
    return dp.plates_for_community(bundle, CID, config=CONFIG)


def _expected_payload(plate: dp.Plate) -> str:
    path = {
        "unit": lambda: unit_path(plate.plate_id),
        "building": lambda: building_path(CID, plate.plate_id),
        "gate": lambda: gate_path(CID, plate.plate_id),
    }[plate.kind]()
    return absolute(CONFIG.base_url, path)


# --------------------------------------------------------------------------- content
def test_plate_content_and_payloads(plates):
    by_id = {p.plate_id: p for p in plates}
    assert [p.kind for p in plates] == ["gate"] * 2 + ["building"] * 4 + ["unit"] * 5
    for plate in plates:
        assert plate.payload == _expected_payload(plate)
        assert plate.plus_code.startswith("Plus Code ") and "+" in plate.plus_code
    unit = by_id[f"{CID}-b7-u2"]
    assert unit.payload == "https://rider.example.cn/u/510104-tst-b7-u2.html"
    assert unit.address == "测试苑 7号楼 2单元" and unit.headline == "2单元"
    assert by_id[f"{CID}-b7-u1"].details == ("户号 101-602",)
    # bare numbers get the kind's word; names as written are kept
    assert by_id[f"{CID}-b12"].headline == "12号楼"
    assert by_id[f"{CID}-b12-u9H"].address == "测试苑 12号楼 9H单元"
    assert by_id[f"{CID}-b21-u1"].address == "测试苑 Дом Кругера 1单元"
    assert by_id[f"{CID}-b7"].details == ("单元 1、2",)
    gate = by_id[f"{CID}-gs"]
    assert gate.headline == "南门" and gate.details == (
        "可骑行进入 每天 00:00–11:00、13:30–17:00、19:30–24:00",
    )  # as the site words it
    assert by_id[f"{CID}-gn"].headline == "出入口" and by_id[f"{CID}-gn"].details == ("禁止进入 常闭",)


def test_missing_numbers_print_what_is_known_and_warn(bundle, caplog):
    with caplog.at_level(logging.WARNING, logger="ridermap.render.doorplate"):
        plates = {p.plate_id: p for p in dp.plates_for_community(bundle, CID, config=CONFIG)}
    unit = plates[f"{CID}-b_w99-u_n5"]
    # no survey key in this bundle: the OSM id stands in, large, so plates stay distinct
    assert unit.headline == "n5" and unit.address == "测试苑 未编号楼栋 w99 未编号单元 n5"
    assert unit.details == ("OSM n5，单元号待核实",)
    building = plates[f"{CID}-b_w99"]
    assert building.headline == "w99" and building.address == "测试苑 未编号楼栋 w99"
    assert building.details == ("OSM w99，楼号待核实",)
    assert f"{CID}-b_w99-u_n5" in caplog.text and "survey their numbers" in caplog.text


def test_english_captions_and_kinds(bundle):
    en = dataclasses.replace(CONFIG, language="en")
    plates = dp.plates_for_community(bundle, CID, config=en, kinds=("unit",))
    assert {p.kind for p in plates} == {"unit"} and plates[0].caption == "Scan for directions"
    assert {p.headline for p in plates} >= {"Unit 9H", "Unit 1", "n5"}
    assert any(p.address.endswith("Unit (no number) n5") for p in plates)
    with pytest.raises(RenderError, match="unknown doorplate kind"):
        dp.plates_for_community(bundle, CID, config=CONFIG, kinds=("door",))


def test_characters_the_font_lacks_are_replaced_not_an_error():
    plates = dp.plates_for_community(make_bundle("测试\U00013000\u202e苑\U0001f600"), CID, config=CONFIG)
    assert plates and all(p.address.startswith("测试□苑□") for p in plates)
    pdf, _, _ = dp.sheets_pdf(plates, size="small", sheet="A4")
    assert pdf[:5] == b"%PDF-"


# --------------------------------------------------------------------------- QR (the encoder itself: test_qr.py)
def test_plates_use_the_shared_encoder_at_level_m_or_higher(plates):
    for plate in plates:
        lay = dp.layout_plate(plate, size="small")
        sym = qr_symbol(plate.payload, ecc="M")
        assert (lay.qr_modules, lay.qr_version, lay.qr_error) == (sym.size, sym.version, sym.error)
        assert lay.qr_error in ("M", "Q", "H")


# --------------------------------------------------------------------------- geometry and text
def test_size_table():
    assert {k: (s.width_mm, s.height_mm, s.qr_mm) for k, s in dp.PLATE_SIZES.items()} == {
        "small": (150, 90, 40),
        "medium": (270, 170, 75),
        "large": (570, 370, 120),
    }


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_layout_geometry_matches_the_size_table(plates, size):
    spec = dp.PLATE_SIZES[size]
    for plate in plates:
        lay = dp.layout_plate(plate, size=size)
        assert (lay.size.width_mm, lay.size.height_mm) == (spec.width_mm, spec.height_mm)
        # the QR square (quiet zone included) is the table's size and lies on the plate
        assert lay.module_mm * (lay.qr_modules + 2 * dp.QUIET_ZONE) == pytest.approx(spec.qr_mm)
        assert 0 < lay.qr_x_mm and lay.qr_x_mm + spec.qr_mm < spec.width_mm
        assert 0 < lay.qr_y_mm and lay.qr_y_mm + spec.qr_mm < spec.height_mm
        # the runs cover exactly the dark modules
        assert sum(n for _, _, n in lay.runs) == int(qr_symbol(plate.payload).modules.sum())


def _inside(box, outer, tol=1e-6):
    return (
        box[0] >= outer[0] - tol and box[1] >= outer[1] - tol and box[2] <= outer[2] + tol and box[3] <= outer[3] + tol
    )


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize(
    "name",
    [LONG_NAME, "Rizhskaya-Nemiga-Residential-Courtyard-No-17-Block-B-Phase-2", "锦华苑"],
    ids=["40-chinese-chars", "long-latin-word", "short"],
)
def test_text_stays_inside_the_plate(size, name):
    assert len(LONG_NAME) == 40
    plates = dp.plates_for_community(make_bundle(name), CID, config=CONFIG)
    spec = dp.PLATE_SIZES[size]
    frame = dp.PLATE_SIZES[size].height_mm * 0.03
    for plate in plates:
        lay = dp.layout_plate(plate, size=size)
        inner = (frame, frame, spec.width_mm - frame, spec.height_mm - frame)  # inside the white frame line
        qr = (lay.qr_x_mm, lay.qr_y_mm, lay.qr_x_mm + spec.qr_mm, lay.qr_y_mm + spec.qr_mm)
        boxes = []
        for run in lay.texts:
            ink = dp.ink_box(run)
            assert ink is not None
            assert _inside(ink, inner), (plate.plate_id, run, ink, inner)
            assert not _overlaps(ink, qr), (plate.plate_id, run.text)
            boxes.append(ink)
        for i, a in enumerate(boxes):  # lines never overprint each other
            for b in boxes[i + 1 :]:
                assert not _overlaps(a, b), (plate.plate_id, a, b)
        # every character of the address is printed (wrapping drops only spaces)
        address_runs = "".join(r.text for r in lay.texts if r.role == "address")
        assert address_runs.replace(" ", "") == plate.address.replace(" ", "")


def test_long_name_wraps_instead_of_shrinking_to_nothing():
    plate = next(p for p in dp.plates_for_community(make_bundle(LONG_NAME), CID, config=CONFIG) if p.kind == "unit")
    lay = dp.layout_plate(plate, size="small")
    address = [r for r in lay.texts if r.role == "address"]
    assert len(address) >= 2 and min(r.size_mm for r in address) >= 0.035 * 90


def test_text_that_cannot_fit_is_refused_with_the_plate_id():
    plate = next(p for p in dp.plates_for_community(make_bundle("很长" * 200), CID, config=CONFIG) if p.kind == "unit")
    with pytest.raises(RenderError, match=re.escape(plate.plate_id)):
        dp.layout_plate(plate, size="small")


def test_wrapping_keeps_times_and_words_together():
    from ridermap.render.doorplate.text import tokens

    assert [t for t, _ in tokens("可骑行进入 Mo-Su 00:00-11:00,13:30-17:00")] == [
        "可",
        "骑",
        "行",
        "进",
        "入",
        "Mo-Su",
        "00:00-11:00,",
        "13:30-17:00",
    ]
    assert [t for t, _ in tokens("锦华苑（东区）。")] == ["锦", "华", "苑", "（东", "区）。"]


# --------------------------------------------------------------------------- PDF and SVG
def _pdffonts(path) -> list[str]:
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts (poppler-utils) not installed")
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[2:]


def test_plate_pdf_trim_size_font_and_text(plates, tmp_path):
    from pypdf import PdfReader

    plate = next(p for p in plates if p.plate_id == f"{CID}-b21-u1")
    for size, spec in dp.PLATE_SIZES.items():
        path = tmp_path / f"{size}.pdf"
        path.write_bytes(dp.plate_pdf(plate, size=size))
        page = PdfReader(path).pages[0]
        assert float(page.mediabox.width) * 25.4 / 72 == pytest.approx(spec.width_mm, abs=0.01)
        assert float(page.mediabox.height) * 25.4 / 72 == pytest.approx(spec.height_mm, abs=0.01)
        text = page.extract_text().replace("\n", "").replace(" ", "")
        assert plate.address.replace(" ", "") in text  # searchable: ToUnicode is right
        fonts = _pdffonts(path)
        assert len(fonts) == 1 and re.match(r"^[A-Z]{6}\+NotoSansSC", fonts[0])
        assert fonts[0].split()[-5:-2] == ["yes", "yes", "yes"]  # emb sub uni


def test_svg_is_self_contained_and_its_qr_decodes(plates):
    import zxingcpp

    plate = plates[0]
    root = ET.fromstring(dp.plate_svg(plate, size="small"))
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.get("width") == "150mm" and root.get("height") == "90mm" and root.get("viewBox") == "0 0 150 90"
    assert root.find("s:title", ns).text == plate.address
    assert root.findall(".//s:text", ns) == []  # text is outlines: no font needed to print it
    assert len(root.findall(".//s:use", ns)) == sum(
        len(r.text.replace(" ", "")) for r in dp.layout_plate(plate, size="small").texts
    )
    qr_rect = root.find("s:rect[@class='qr']", ns)
    assert float(qr_rect.get("width")) == 40 and float(qr_rect.get("height")) == 40
    d = root.find("s:path[@class='qr-modules']", ns).get("d")
    n = qr_symbol(plate.payload).size
    grid = np.zeros((n, n), dtype=bool)
    for c, r, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", d):
        grid[int(r), int(c) : int(c) + int(w)] = True
    image = np.pad(np.where(grid, 0, 255).astype(np.uint8), 4, constant_values=255).repeat(6, 0).repeat(6, 1)
    assert [c.text for c in zxingcpp.read_barcodes(image)] == [plate.payload]


# --------------------------------------------------------------------------- imposition
@pytest.mark.parametrize(
    "size,sheet,per_page,rotated",
    [
        ("small", "A4", 3, False),
        ("small", "A3", 6, True),
        ("medium", "A4", 1, True),
        ("medium", "A3", 2, False),
        ("large", "fit", 1, False),
    ],
)
def test_imposition_fits_the_paper(size, sheet, per_page, rotated):
    grid, placements = dp.impose(7, size=size, sheet=sheet)
    assert grid.per_page == per_page and grid.rotated == rotated
    spec = dp.PLATE_SIZES[size]
    for p in placements:
        assert {p.width_mm, p.height_mm} == {spec.width_mm, spec.height_mm}
        assert p.x_mm >= dp.SHEET_MARGIN_MM - 1e-9 and p.y_mm >= dp.SHEET_MARGIN_MM - 1e-9
        assert p.x_mm + p.width_mm <= grid.page_width_mm - dp.SHEET_MARGIN_MM + 1e-9
        assert p.y_mm + p.height_mm <= grid.page_height_mm - dp.SHEET_MARGIN_MM + 1e-9
    for a in placements:
        for b in placements:
            if a.index < b.index and a.page == b.page:
                box_a = (a.x_mm, a.y_mm, a.x_mm + a.width_mm, a.y_mm + a.height_mm)
                box_b = (
                    b.x_mm - dp.GUTTER_MM + 1e-6,
                    b.y_mm - dp.GUTTER_MM + 1e-6,
                    b.x_mm + b.width_mm + dp.GUTTER_MM - 1e-6,
                    b.y_mm + b.height_mm + dp.GUTTER_MM - 1e-6,
                )
                assert not _overlaps(box_a, box_b)  # a gutter for cut marks and ids between plates


def test_large_plates_do_not_fit_a3():
    with pytest.raises(RenderError, match="do not fit on A3"):
        dp.impose(1, size="large", sheet="A3")


def test_sheets_carry_plate_ids_in_the_margin(plates, tmp_path):
    from pypdf import PdfReader

    pdf, grid, placements = dp.sheets_pdf(plates, size="small", sheet="A4")
    path = tmp_path / "sheets.pdf"
    path.write_bytes(pdf)
    reader = PdfReader(path)
    assert len(reader.pages) == -(-len(plates) // 3)
    for plate, p in zip(plates, placements):
        assert plate.plate_id in reader.pages[p.page].extract_text()
    assert all(line.split()[-5:-2] == ["yes", "yes", "yes"] for line in _pdffonts(path))


# --------------------------------------------------------------------------- printed and decoded
def _raster(path, dpi=150):
    out = subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", str(path)], capture_output=True, check=True
    ).stdout
    return out


@needs_pdftoppm
@pytest.mark.parametrize("size", ["small", "medium"])
def test_printed_qr_has_the_planned_size_in_mm(plates, tmp_path, size):
    """Measure the QR symbol on the 150 dpi raster of the one-plate PDF."""
    import zxingcpp

    from ridermap.publish.doorplates import pgm_frames

    plate = plates[-1]
    path = tmp_path / "plate.pdf"
    path.write_bytes(dp.plate_pdf(plate, size=size))
    (image,) = pgm_frames(io.BytesIO(_raster(path)))
    spec = dp.PLATE_SIZES[size]
    px = 150 / 25.4
    assert image.shape[1] == pytest.approx(spec.width_mm * px, abs=1)
    assert image.shape[0] == pytest.approx(spec.height_mm * px, abs=1)
    (code,) = zxingcpp.read_barcodes(image)
    assert code.text == plate.payload
    lay = dp.layout_plate(plate, size=size)
    pos = code.position
    side_px = np.hypot(pos.top_right.x - pos.top_left.x, pos.top_right.y - pos.top_left.y)
    symbol_mm = lay.module_mm * lay.qr_modules
    assert side_px / px == pytest.approx(symbol_mm, abs=2 * 25.4 / 150)
    left_mm = pos.top_left.x / px
    assert left_mm == pytest.approx(lay.qr_x_mm + dp.QUIET_ZONE * lay.module_mm, abs=2 * 25.4 / 150)


@needs_pdftoppm
@pytest.mark.parametrize(
    "size,sheet,qr_windows",
    [
        ("small", "A4", False),
        ("small", "A4", True),
        ("small", "A3", True),
        ("medium", "A4", True),
        ("medium", "A3", False),
        ("large", "fit", True),
    ],
)
def test_every_plate_decodes_to_its_payload(plates, tmp_path, size, sheet, qr_windows):
    """Whole plates or only their QR squares (with layouts) rasterised, straight and turned on the sheet."""
    from ridermap.publish.doorplates import verify_pdf

    layouts = [dp.layout_plate(p, size=size) for p in plates]
    pdf, _grid, placements = dp.sheets_pdf(plates, size=size, sheet=sheet, layouts=layouts)
    path = tmp_path / "sheets.pdf"
    path.write_bytes(pdf)
    report = verify_pdf(path, plates, placements, layouts=layouts if qr_windows else None)
    assert report.ok, report.text()
    assert [r["plate_id"] for r in report.results] == [p.plate_id for p in plates]
    for result, plate in zip(report.results, plates):
        assert result["decoded"] == [plate.payload] == [_expected_payload(plate)]


@needs_pdftoppm
@pytest.mark.parametrize("sheet", ["A4", "A3"])
def test_qr_windows_look_only_where_the_layout_put_the_code(plates, tmp_path, sheet):
    """Told the QR squares are 35 mm left of where they were printed, verification finds no code there."""
    from ridermap.publish.doorplates import verify_pdf

    layouts = [dp.layout_plate(p, size="small") for p in plates[:4]]
    pdf, _grid, placements = dp.sheets_pdf(plates[:4], size="small", sheet=sheet, layouts=layouts)
    path = tmp_path / "sheets.pdf"
    path.write_bytes(pdf)
    moved = [dataclasses.replace(lay, qr_x_mm=lay.qr_x_mm - 35) for lay in layouts]
    report = verify_pdf(path, plates[:4], placements, layouts=moved)
    assert not report.ok and {r["problem"] for r in report.results} == {"no QR code found"}
    assert verify_pdf(path, plates[:4], placements, layouts=layouts).ok


@needs_pdftoppm
def test_a_wrong_code_fails_and_nothing_is_published(plates, tmp_path, monkeypatch):
    import ridermap.publish.doorplates as pub

    bad_id = plates[3].plate_id
    real = pub.sheets_pdf

    def tampered(ps, **kw):  # print another URL on one plate (laid out again: layouts hold the QR)
        swapped = [dataclasses.replace(p, payload=p.payload + "x") if p.plate_id == bad_id else p for p in ps]
        return real(swapped, **{**kw, "layouts": None})

    monkeypatch.setattr(pub, "sheets_pdf", tampered)
    target = tmp_path / "plates.pdf"
    with pytest.raises(VerificationError, match=re.escape(bad_id)):
        pub.write_doorplate_sheets(plates, target, verify=True)
    assert not target.exists()
    summary = json.loads((tmp_path / "plates.verification.json").read_text(encoding="utf-8"))
    assert summary["failed"] == 1 and summary["failures"][0]["plate_id"] == bad_id
    assert summary["failures"][0]["decoded"] == [plates[3].payload + "x"]
    assert [p.name for p in tmp_path.iterdir()] == ["plates.verification.json"]


@needs_pdftoppm
def test_write_doorplates_folder(bundle, tmp_path):
    from ridermap.publish.doorplates import write_doorplates

    files = write_doorplates(bundle, CID, tmp_path, config=CONFIG, verify=True)
    folder = tmp_path / CID
    assert all(f.is_file() for f in files)
    names = {f.relative_to(folder).as_posix() for f in files}
    assert {
        "doorplates-small-A4.pdf",
        "index.csv",
        "verification.json",
        "verification.txt",
        f"plates/{CID}-b7-u2.pdf",
        f"plates/{CID}-b7-u2.svg",
        f"plates/{CID}-gs.svg",
    } <= names
    summary = json.loads((folder / "verification.json").read_text(encoding="utf-8"))
    assert summary["plates"] == summary["verified"] == 11 and summary["failed"] == 0
    index = (folder / "index.csv").read_text(encoding="utf-8").splitlines()
    assert len(index) == 12 and index[0].startswith("plate_id,kind,")
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers


# --------------------------------------------------------------------------- real data
@needs_pdftoppm
def test_sample_compound_every_plate_verified(sample_bundle, sample_config, tmp_path):
    from ridermap.publish.doorplates import write_doorplates

    view = sample_bundle.community(SAMPLE_ID)
    write_doorplates(sample_bundle, SAMPLE_ID, tmp_path, config=sample_config, verify=True, per_plate=False)
    summary = json.loads((tmp_path / SAMPLE_ID / "verification.json").read_text(encoding="utf-8"))
    assert summary["verified"] == len(view.units) + len(view.buildings) + len(view.gates) == summary["plates"]
    assert len(view.units) >= 25


@needs_pdftoppm
def test_minsk_compound_every_unit_verified(minsk_bundle, tmp_path):
    from ridermap.publish.doorplates import write_doorplates

    write_doorplates(minsk_bundle, MINSK_ID, tmp_path, config=CONFIG, kinds=("unit",), verify=True, per_plate=False)
    summary = json.loads((tmp_path / MINSK_ID / "verification.json").read_text(encoding="utf-8"))
    assert summary["plates"] == summary["verified"] >= 36


# --------------------------------------------------------------------------- CLI
@needs_pdftoppm
def test_cli_doorplates(bundle, tmp_path):
    from cli import main
    from ridermap.publish.gpkg import write_gpkg

    source = write_gpkg(bundle, tmp_path / "src.gpkg")
    out = tmp_path / "plates.pdf"
    result = CliRunner().invoke(
        main, ["doorplates", str(source), "--kind", "unit", "--sheet", "A3", "-o", str(out), "--verify"]
    )
    assert result.exit_code == 0, result.output
    assert "5/5 doorplates decoded correctly" in result.output and out.is_file()
    result = CliRunner().invoke(
        main, ["doorplates", str(source), "--community", CID, "--kind", "gate", "-o", str(tmp_path / "dir")]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "dir" / CID / "plates").iterdir()) == [
        f"{CID}-gn.pdf",
        f"{CID}-gn.svg",
        f"{CID}-gs.pdf",
        f"{CID}-gs.svg",
    ]
    result = CliRunner().invoke(
        main, ["doorplates", str(source), "--size", "large", "--sheet", "A3", "-o", str(tmp_path / "x.pdf")]
    )
    assert result.exit_code == 2 and "do not fit on A3" in result.output
    assert not (tmp_path / "x.pdf").exists()


# --------------------------------------------------------------------------- report a problem
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plates_carry_the_report_code_when_feedback_url_is_set(sample_bundle, sample_config, tmp_path, lang):
    import dataclasses

    from conftest import SAMPLE_ID

    config = dataclasses.replace(
        sample_config, language=lang, feedback_url="https://report.example.cn/f?unit={unit_id}"
    )
    plates = dp.plates_for_community(sample_bundle, SAMPLE_ID, config=config)
    unit = next(p for p in plates if p.plate_id == f"{SAMPLE_ID}-b7-u2")
    word = "报错 / Report:" if lang == "zh" else "Report a problem:"
    assert unit.details[-1] == f"{word} report.example.cn · b7-u2"
    assert all(p.details[-1].endswith(p.plate_id.removeprefix(SAMPLE_ID + "-")) for p in plates)
    for size in ("small", "medium", "large"):  # it fits, as every line does (layout refuses what does not)
        for plate in plates:
            dp.layout_plate(plate, size=size)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    path = tmp_path / "plate.pdf"
    path.write_bytes(dp.plate_pdf(unit, size="small"))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "report.example.cn · b7-u2" in text.replace("\n", " ")
    plain = dp.plates_for_community(sample_bundle, SAMPLE_ID, config=dataclasses.replace(config, feedback_url=""))
    assert not any("report.example.cn" in line for p in plain for line in p.details)


@needs_pdftoppm
def test_one_strip_per_column_of_slots_decodes_each_plate_from_its_own_square(plates, tmp_path):
    from ridermap.publish.doorplates import _jobs, verify_pdf

    layouts = [dp.layout_plate(p, size="small") for p in plates]
    pdf, _grid, placements = dp.sheets_pdf(plates, size="small", sheet="A4", layouts=layouts)
    jobs = _jobs(placements, layouts, 150)
    slots = {(p.x_mm, p.y_mm) for p in placements}
    assert len(slots) > 1 and len({job.window for job in jobs}) < len(slots)  # slots of a column share a run
    assert sorted(k for job in jobs for ks in job.plates.values() for k in ks) == list(range(len(plates)))
    path = tmp_path / "sheets.pdf"
    path.write_bytes(pdf)
    report = verify_pdf(path, plates, placements, layouts=layouts)
    assert report.ok, report.text()
    assert [r["decoded"] for r in report.results] == [[p.payload] for p in plates]
