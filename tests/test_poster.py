"""Gate posters: what a person sees in the PDF, PNG and SVG, and what the placer promises.

Most tests use a small compound built inline (four buildings, eight unit doors,
three gates); the real sample and BUPT compounds are checked at the end.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import BUPT_ID, SAMPLE_ID
from shapely.geometry import LineString, Point, Polygon, box

from ridermap.config import Config
from ridermap.errors import ConfigError, RenderError
from ridermap.model.bundle import Bundle
from ridermap.publish.posters import save_poster, write_posters
from ridermap.render.poster import cap_height_mm, find_gate, render_poster
from ridermap.render.poster_grid import compact_squares, make_grid, nice_scale, round_length
from ridermap.render.poster_labels import boxes_overlap
from ridermap.render.poster_style import DEFAULT_STYLE, TEXT_SIZES, contrast_ratio

CID = "510104-tst"
LON0, LAT0 = 104.08, 30.65
CONFIG = Config(base_url="https://rider.example.cn/", language="zh", data_date="2026-11")
PT = 72.0 / 25.4


def _ll(x_m: float, y_m: float) -> tuple[float, float]:
    """Local metres east/north of (LON0, LAT0) to lon/lat."""
    return LON0 + x_m / (111320.0 * math.cos(math.radians(LAT0))), LAT0 + y_m / 111320.0


def _poly(x0, y0, x1, y1) -> Polygon:
    return Polygon([_ll(x0, y0), _ll(x1, y0), _ll(x1, y1), _ll(x0, y1)])


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def make_bundle(
    *, units_per_building: int = 2, building_label: str | None = None, gates=None, facilities=None
) -> Bundle:
    """A 160 m x 120 m compound: buildings 1-4 in two rows, unit doors on their south walls."""
    buildings, units = [], []
    for k, (x, y) in enumerate([(20, 70), (90, 70), (20, 20), (90, 20)], start=1):
        label = building_label if (building_label is not None and k == 1) else f"{k}号楼"
        bid = f"{CID}-b{k}"
        buildings.append(
            {
                "id": bid,
                "community_id": CID,
                "number": str(k),
                "label": label,
                "levels": 6,
                "source": f"osm:way/{100 + k}",
                "geometry": _poly(x, y, x + 50, y + 14),
            }
        )
        for u in range(1, units_per_building + 1):
            ux = x + 50 * u / (units_per_building + 1)
            units.append(
                {
                    "id": f"{bid}-u{u}",
                    "community_id": CID,
                    "building_id": bid,
                    "number": str(u),
                    "label": f"{u}单元",
                    "source": "survey.xlsx:units:2",
                    "geometry": Point(_ll(ux, y)),
                }
            )
    gates = (
        gates
        if gates is not None
        else [
            ("gs", "南门", "ride", "Mo-Su 07:00-22:00", False, (80, 0)),
            ("ge", "东门", "walk", "", False, (160, 60)),
            ("gn", "北门", "none", "", True, (80, 120)),
        ]
    )
    gate_rows = [
        {
            "id": f"{CID}-{key}",
            "community_id": CID,
            "name": name,
            "rider_access": access,
            "hours": hours,
            "locked": locked,
            "source": "survey.xlsx:gates:2",
            "geometry": Point(_ll(*xy)),
        }
        for key, name, access, hours, locked, xy in gates
    ]
    facilities = (
        facilities
        if facilities is not None
        else [
            ("charger", "南门充电桩", CID, (95, 8)),
            ("toilet", "公厕", "", (60, -25)),
            ("parcel_locker", "快递柜", CID, (150, 50)),
            ("rider_station", "骑手驿站", "", (130, -25)),
        ]
    )
    fac_rows = [
        {
            "id": f"f-{kind}-{i}",
            "kind": kind,
            "name": name,
            "community_id": cid,
            "source": "survey.xlsx:f:2",
            "geometry": Point(_ll(*xy)),
        }
        for i, (kind, name, cid, xy) in enumerate(facilities)
    ]
    paths = [
        {
            "id": "p1",
            "community_id": CID,
            "kind": "service",
            "access": "private",
            "rideable": True,
            "source": "osm:way/1",
            "geometry": LineString([_ll(80, 0), _ll(80, 120)]),
        },
        {
            "id": "p2",
            "community_id": CID,
            "kind": "service",
            "access": "private",
            "rideable": True,
            "source": "osm:way/2",
            "geometry": LineString([_ll(0, 55), _ll(160, 55)]),
        },
        {
            "id": "p3",
            "community_id": CID,
            "kind": "footway",
            "access": "private",
            "rideable": False,
            "source": "osm:way/3",
            "geometry": LineString([_ll(10, 10), _ll(10, 110)]),
        },
        {
            "id": "p4",
            "community_id": "",
            "kind": "residential",
            "access": "",
            "rideable": True,
            "source": "osm:way/4",
            "geometry": LineString([_ll(-40, -12), _ll(200, -12)]),
        },
    ]
    layers = {
        "communities": _gdf(
            [
                {
                    "id": CID,
                    "name": "测试苑",
                    "rider_access": "ride",
                    "rider_hours": "",
                    "admin_code": "510104",
                    "source": "osm:way/9",
                    "geometry": _poly(0, 0, 160, 120),
                }
            ]
        ),
        "buildings": _gdf(buildings),
        "units": _gdf(units),
        "gates": _gdf(gate_rows),
        "facilities": _gdf(fac_rows),
        "paths": _gdf(paths),
    }
    return Bundle.from_layers(layers)


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    return make_bundle()


@pytest.fixture(scope="module")
def a4(bundle):
    """The south gate's A4 poster."""
    return render_poster(bundle, CID, gate="南门", config=CONFIG, paper="A4")


@pytest.fixture(scope="module")
def a4_pdf(a4, tmp_path_factory) -> Path:
    return save_poster(a4, tmp_path_factory.mktemp("poster") / "south.pdf")


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout


# --------------------------------------------------------------------------- the PDF a person opens


def test_pdf_opens_as_one_a4_page(a4_pdf):
    info = _run("pdfinfo", str(a4_pdf))
    assert re.search(r"Pages:\s+1\b", info)
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert (round(w / PT), round(h / PT)) == (210, 297)


def test_pdf_fonts_are_embedded_cjk_subsets(a4_pdf):
    lines = _run("pdffonts", str(a4_pdf)).splitlines()[2:]
    assert lines, "no fonts in the PDF"
    for line in lines:
        name, emb, sub = line.split()[0], line.split()[-5], line.split()[-4]
        assert (emb, sub) == ("yes", "yes"), line
        assert "NotoSansSC" in name, f"text in a non-CJK font: {line}"


def _pdf_words(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    html = _run("pdftotext", "-bbox", str(pdf), "-")
    return [
        (m.group(5), *map(float, m.group(1, 2, 3, 4)))
        for m in re.finditer(
            r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">([^<]*)</word>', html
        )
    ]


def test_every_building_and_unit_number_is_printed_in_its_label_box(a4, a4_pdf, bundle):
    expected = {("building", str(n)) for n in bundle.buildings["number"]}
    expected |= {("unit", u) for u in bundle.units["id"]}
    got = {(p.kind, p.text if p.kind == "building" else p.key) for p in a4.labels}
    assert expected <= got
    words = _pdf_words(a4_pdf)
    page_h = a4.page_mm[1]
    for label in a4.labels:
        x0, y0, x1, y1 = label.box
        hits = [
            w
            for w in words
            if w[0] == label.text.split(" ")[0]
            and x0 * PT <= (w[1] + w[3]) / 2 <= x1 * PT
            and w[2] <= (page_h - y0) * PT
            and w[4] >= (page_h - y1) * PT
        ]
        assert hits, f"{label.text!r} ({label.key}) is not in the PDF text inside its box"


def test_no_two_labels_overlap_and_none_covers_a_symbol(a4):
    labels = a4.labels
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert not boxes_overlap(a.box, b.box), (a, b)
        for s in a4.symbols:
            assert not boxes_overlap(a.box, s.box), (a, s)
        fx0, fy0, fx1, fy1 = a4.map_frame
        assert fx0 <= a.box[0] and a.box[2] <= fx1 and fy0 <= a.box[1] and a.box[3] <= fy1


def test_label_texts_drawn_inside_their_boxes(a4):
    """The boxes the placer reports are where matplotlib really draws the text."""
    from matplotlib.backends.backend_agg import RendererAgg

    renderer = RendererAgg(1, 1, a4.figure.dpi)
    k = 25.4 / a4.figure.dpi
    texts = {t.get_gid(): t for t in a4.figure.axes[0].texts if (t.get_gid() or "").startswith("label:")}
    assert len(texts) == len(a4.labels)
    for label in a4.labels:
        bb = texts[f"label:{label.kind}:{label.key}"].get_window_extent(renderer)
        x0, y0, x1, y1 = label.box
        assert x0 - 0.05 <= bb.x0 * k and bb.x1 * k <= x1 + 0.05 and y0 - 0.05 <= bb.y0 * k and bb.y1 * k <= y1 + 0.05


def _label_caps(poster) -> dict[str, list[float]]:
    caps: dict[str, list[float]] = {}
    for t in poster.figure.axes[0].texts:
        gid = t.get_gid() or ""
        if gid.startswith("label:"):
            caps.setdefault(gid.split(":")[1], []).append(cap_height_mm(t.get_fontsize()))
    return caps


def test_labels_at_least_4mm_cap_height_on_a4(a4):
    caps = _label_caps(a4)
    assert set(caps) >= {"building", "unit", "gate", "here"}
    assert min(min(v) for v in caps.values()) >= 4.0 - 1e-6


def test_building_numbers_10mm_on_a2(bundle):
    poster = render_poster(bundle, CID, config=CONFIG, paper="A2")
    caps = _label_caps(poster)
    assert min(caps["building"]) >= 10.0 - 1e-6
    assert min(min(v) for v in caps.values()) >= 4.0 - 1e-6
    assert poster.gate_id is None and "here" not in caps  # the overview has no "you are here"
    poster.figure.clear()


def test_qr_decodes_to_the_gate_url_at_300_dpi(a4, a4_pdf, tmp_path):
    import zxingcpp
    from PIL import Image

    _run("pdftoppm", "-r", "300", "-png", "-singlefile", str(a4_pdf), str(tmp_path / "page"))
    results = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))
    assert [r.text for r in results] == ["https://rider.example.cn/c/510104-tst.html#g=510104-tst-gs"]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode  # never Micro QR
    assert results[0].ec_level in ("M", "Q", "H")
    assert a4.url == results[0].text


def test_qr_quiet_zone_is_clear(a4):
    """Nothing but the white QR backing lies within the code's four-module quiet zone."""
    x0, y0, x1, y1 = a4.qr_box
    for label in a4.labels:
        assert not boxes_overlap(label.box, a4.qr_box)
    ax = a4.figure.axes[0]
    from matplotlib.backends.backend_agg import RendererAgg

    renderer = RendererAgg(1, 1, a4.figure.dpi)
    k = 25.4 / a4.figure.dpi
    for t in ax.texts:
        bb = t.get_window_extent(renderer)
        assert not boxes_overlap((bb.x0 * k, bb.y0 * k, bb.x1 * k, bb.y1 * k), (x0, y0, x1, y1)), t.get_text()


def test_characters_the_font_lacks_are_replaced_not_an_error():
    """An emoji becomes □, a bidi override is dropped; drawing raises no missing-glyph warning (an error here)."""
    gates = [("gs", "南\u202e门\U0001f6aa", "ride", "", False, (80, 0)), ("ge", "东门", "walk", "", False, (160, 60))]
    bundle = make_bundle(building_label="\U0001f6f5号楼", gates=gates)
    poster = render_poster(bundle, CID, gate=f"{CID}-gs", config=CONFIG, paper="A4")
    poster.figure.canvas.draw()
    texts = [t.get_text() for t in poster.figure.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("南门□" in t for t in texts)
    assert not any("\U0001f6f5" in t or "\u202e" in t or "\U0001f6aa" in t for t in texts)


def test_matplotlib_missing_glyph_warning_fails_the_suite():
    """pyproject turns warnings into errors, so a tofu box can never pass silently."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ridermap.render.fonts import font_family

    fig = Figure()
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, "\U0001f6f5", fontfamily=font_family())
    with pytest.raises(UserWarning, match="missing from font"):
        fig.canvas.draw()


# --------------------------------------------------------------------------- map content


def test_map_is_turned_so_the_reader_faces_into_the_compound(bundle):
    """At the east gate the reader faces west: the gate is at the bottom, north points right."""
    poster = render_poster(bundle, CID, gate="东门", config=CONFIG, paper="A4")
    here = next(s for s in poster.symbols if s.kind == "here")
    b1 = next(p for p in poster.labels if p.kind == "building" and p.text == "1")
    b2 = next(p for p in poster.labels if p.kind == "building" and p.text == "2")
    fx0, fy0, fx1, fy1 = poster.map_frame
    assert (here.box[1] + here.box[3]) / 2 < (fy0 + fy1) / 2  # gate in the lower half
    assert abs(poster.rotation_deg - (-90.0)) < 5.0
    # building 1 is west of 2: facing west, 1 is farther away (higher up the page) than 2
    assert b1.centre[1] > b2.centre[1]
    assert any(t.get_gid() == "north" for t in poster.figure.axes[0].texts)
    poster.figure.clear()


def test_overview_is_north_up_with_grid_and_index(bundle):
    poster = render_poster(bundle, CID, config=CONFIG, paper="A3")
    assert poster.rotation_deg == 0.0
    assert poster.url == "https://rider.example.cn/c/510104-tst.html"
    assert 30.0 <= poster.grid.side_mm <= 55.0
    assert round_length(poster.grid.side_m) == poster.grid.side_m
    keys = {e.key for e in poster.index}
    assert set(bundle.buildings["id"]) | set(bundle.units["id"]) <= keys
    for entry in poster.index:
        assert entry.squares and all(re.fullmatch(r"[A-Z]+\d+", s) for s in entry.squares)
    texts = [t.get_text() for t in poster.figure.axes[0].texts if t.get_gid() == "panel:index"]
    assert any(t.startswith("1号楼 ") for t in texts)
    poster.figure.clear()


def test_legend_lists_only_symbols_drawn(a4, bundle):
    assert {
        "facility:charger",
        "facility:toilet",
        "facility:parcel_locker",
        "facility:rider_station",
        "gate:ride",
        "gate:walk",
        "gate:none",
        "here",
        "unit_door",
        "building",
        "rideable",
        "walk_only",
        "street",
    } <= set(a4.legend)
    assert "facility:battery_swap" not in a4.legend and "street_footway" not in a4.legend
    legend_texts = {t.get_text() for t in a4.figure.axes[0].texts if t.get_gid() == "panel:legend"}
    assert "充电桩" in legend_texts and "换电柜" not in legend_texts
    drawn_kinds = {s.kind for s in a4.symbols}
    assert {k for k in a4.legend if k.startswith("facility:") or k.startswith("gate:")} == {
        k for k in drawn_kinds if k.startswith("facility:") or k.startswith("gate:")
    }


def test_off_map_facilities_listed_with_direction_and_distance():
    far = [("charger", "南门充电桩", CID, (95, 8)), ("battery_swap", "远处换电柜", "", (80, -250))]
    poster = render_poster(make_bundle(facilities=far), CID, gate="南门", config=CONFIG, paper="A4")
    assert "facility:battery_swap" not in {s.kind for s in poster.symbols}  # off the map
    texts = [t.get_text() for t in poster.figure.axes[0].texts]
    assert "附近设施（图外）" in texts
    assert "远处换电柜 ↓ 250m" in texts  # south of the south gate, which is at the bottom of the page
    poster.figure.clear()


def test_symbol_classes_differ_by_shape_and_text_contrast_is_aaa():
    shapes = [m.marker for m in DEFAULT_STYLE.facilities.values()]
    assert len(set(shapes)) == len(shapes), "two facility kinds share a shape"
    gate_shapes = [(m.marker, m.fillstyle) for m in DEFAULT_STYLE.gates.values()]
    assert len(set(gate_shapes)) == len(gate_shapes)
    assert not {m for m, _ in gate_shapes if _ == "full"} & set(shapes)
    for name, tb in DEFAULT_STYLE.text_boxes().items():
        assert contrast_ratio(tb.ink, tb.face) >= 7.0, name


def test_attribution_and_data_date_printed(a4_pdf):
    text = re.sub(r"\s+", "", _run("pdftotext", "-raw", str(a4_pdf), "-"))
    assert "©OpenStreetMapcontributors" in text
    assert "数据日期2026-11" in text


def test_labels_that_do_not_fit_raise_and_suggest_larger_paper():
    crowded = make_bundle(units_per_building=40)
    with pytest.raises(RenderError, match=r"larger paper \(--paper A3\)"):
        render_poster(crowded, CID, gate="南门", config=CONFIG, paper="A4")


def test_unknown_gate_and_paper_are_config_errors(bundle):
    with pytest.raises(ConfigError, match="no gate '西门'"):
        find_gate(bundle, CID, "西门")
    assert find_gate(bundle, CID, f"{CID}-ge") == f"{CID}-ge"
    with pytest.raises(ConfigError, match="paper"):
        render_poster(bundle, CID, config=CONFIG, paper="B5")


# --------------------------------------------------------------------------- files


def test_landscape_bleed_and_crop_marks(bundle, tmp_path):
    poster = render_poster(
        bundle, CID, gate="北门", config=CONFIG, paper="A3", landscape=True, bleed_mm=3, crop_marks=True
    )
    path = save_poster(poster, tmp_path / "north.pdf")
    boxes = _run("pdfinfo", "-box", str(path))
    media = [float(v) for v in re.search(r"MediaBox:\s+(.*)", boxes).group(1).split()]
    trim = [float(v) for v in re.search(r"TrimBox:\s+(.*)", boxes).group(1).split()]
    bleed = [float(v) for v in re.search(r"BleedBox:\s+(.*)", boxes).group(1).split()]
    assert round((trim[2] - trim[0]) / PT) == 420 and round((trim[3] - trim[1]) / PT) == 297
    assert round((trim[0] - bleed[0]) / PT, 1) == 3.0
    assert media[2] > bleed[2] and media[0] < bleed[0]  # crop marks live outside the bleed
    assert any(c.get_gid() == "crop_marks" for c in poster.figure.axes[0].collections)
    poster.figure.clear()


def test_png_at_chosen_dpi_and_svg(a4, tmp_path):
    from PIL import Image

    png = save_poster(a4, tmp_path / "p.png", dpi=60)
    with Image.open(png) as im:
        assert abs(im.size[0] - 210 / 25.4 * 60) < 1 and abs(im.size[1] - 297 / 25.4 * 60) < 1
    svg = save_poster(a4, tmp_path / "p.svg")
    head = svg.read_text(encoding="utf-8")[:4000]
    assert "<svg" in head and 'width="595.' in head
    assert not list(tmp_path.glob(".*")), "temporary files left behind"
    with pytest.raises(ConfigError, match=r"\.pdf, \.svg or \.png"):
        save_poster(a4, tmp_path / "p.docx")


def test_write_posters_one_per_gate_plus_overview(bundle, tmp_path):
    files = write_posters(bundle, CID, tmp_path, config=CONFIG, paper="A4")
    assert [f.name for f in files] == [f"{CID}-overview.pdf", f"{CID}-gs.pdf", f"{CID}-ge.pdf", f"{CID}-gn.pdf"]
    assert all(f.parent == tmp_path / CID and f.stat().st_size > 10_000 for f in files)
    assert sorted(p.name for p in (tmp_path / CID).iterdir()) == sorted(f.name for f in files)


def test_cli_poster(bundle, tmp_path):
    from click.testing import CliRunner

    from cli import main
    from ridermap.publish.gpkg import write_gpkg

    gpkg = tmp_path / "t.gpkg"
    write_gpkg(bundle, gpkg)
    out = tmp_path / "east.pdf"
    runner = CliRunner()
    result = runner.invoke(
        main, ["poster", str(gpkg), "--community", CID, "--gate", "东门", "--paper", "a4", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:5] == b"%PDF-"
    bad = runner.invoke(
        main, ["poster", str(gpkg), "--community", CID, "--gate", "西门", "-o", str(tmp_path / "x.pdf")]
    )
    assert bad.exit_code == 2 and "no gate '西门'" in bad.output and "Traceback" not in bad.output
    assert not (tmp_path / "x.pdf").exists()


# --------------------------------------------------------------------------- grid helpers


def test_grid_rounding_and_squares():
    assert nice_scale(1320) == 1500 and nice_scale(9000) == 10000
    grid = make_grid((0.0, 0.0, 130.0, 90.0), scale=1500, square_mm=40.0)
    assert grid.side_m == 50.0 and math.isclose(grid.side_mm, 1000 * 50 / 1500)
    assert (grid.n_cols, grid.n_rows) == (4, 3)
    assert grid.square_of(1, 89) == "A1" and grid.square_of(129, 1) == "D3"
    assert grid.squares_of(box(10, 60, 50, 70)) == ["A1", "B1"]
    assert compact_squares(["A1", "B1", "A2", "B2"]) == "A1-B2"


# --------------------------------------------------------------------------- real data


def _check_real(poster, bundle, cid):
    view = bundle.community(cid)
    numbers = sorted(str(n) for n in view.buildings["number"] if n)
    assert sorted(p.text for p in poster.labels if p.kind == "building") == numbers
    unit_keys = {u for u, n in zip(view.units["id"], view.units["number"]) if n}
    assert {p.key for p in poster.labels if p.kind == "unit"} == unit_keys
    for i, a in enumerate(poster.labels):
        assert not any(boxes_overlap(a.box, b.box) for b in poster.labels[i + 1 :])
        assert not any(boxes_overlap(a.box, s.box) for s in poster.symbols)


def test_sample_compound_a2_gate_poster(sample_bundle, sample_config):
    poster = render_poster(sample_bundle, SAMPLE_ID, gate="东门", config=sample_config, paper="A2")
    _check_real(poster, sample_bundle, SAMPLE_ID)
    assert len([p for p in poster.labels if p.kind == "unit"]) == 26
    poster.figure.clear()


def test_bupt_compound_a4_gate_poster(bupt_bundle):
    poster = render_poster(bupt_bundle, BUPT_ID, gate="南门", config=CONFIG, paper="A4")
    _check_real(poster, bupt_bundle, BUPT_ID)
    assert len([p for p in poster.labels if p.kind == "building"]) == 21
    poster.figure.clear()


def test_text_sizes_table_is_monotonic():
    papers = list(TEXT_SIZES)
    for field in ("building_mm", "unit_mm", "body_mm"):
        values = [getattr(TEXT_SIZES[p], field) for p in papers]
        assert values == sorted(values)
    assert TEXT_SIZES["A2"].building_mm >= 10.0
    assert min(min(TEXT_SIZES[p].building_mm, TEXT_SIZES[p].unit_mm, TEXT_SIZES[p].gate_mm) for p in papers) >= 4.0
    assert np.isfinite(cap_height_mm(12.0))
