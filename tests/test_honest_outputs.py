"""Honest outputs: unknown rules, inferred gates and names, missing gates and the draft band.

Bundles are the inline poster compound and real extracts, changed the way the
inferring readers mark things: ``rider_access = "unknown"`` and ``inferred``
naming what was guessed.
"""

from __future__ import annotations

import re
import subprocess

import geopandas as gpd
import pandas as pd
import pytest
from conftest import shared_osm
from shapely.geometry import Point

from ridermap.config import Config, load_config
from ridermap.errors import ConfigError
from ridermap.model.confirmed import gate_confirmed, needs_draft
from ridermap.publish.posters import save_poster
from ridermap.render.honest import access_label, compound_title
from ridermap.render.poster import render_poster
from tests.test_poster import CID, CONFIG, make_bundle

XUEYUANLU_NO_GATE = "110108-w594891968"  # 富润家园: no gate mapped, none inferred, 5 buildings without number


def _pdf_text(poster, tmp_path, name="p.pdf") -> str:
    pdf = save_poster(poster, tmp_path / name)
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", raw)


def unconfirmed_bundle(*, name: str = "测试苑", name_inferred: bool = False):
    """The poster compound as inference leaves it: rule unknown, every gate an inferred candidate."""
    gates = [("gs", "南侧出入口", "unknown", "", False, (80, 0)), ("ge", "东侧出入口", "unknown", "", False, (160, 60))]
    b = make_bundle(gates=gates)
    comm = b.communities.copy()
    comm["rider_access"] = "unknown"
    comm["name"] = name
    comm["inferred"] = "rider_access" + (",name" if name_inferred else "")
    g = b.gates.copy()
    g["inferred"] = "location,rider_access"
    g["source"] = "inferred:crossing"
    return b.replace(communities=comm, gates=g)


def test_unknown_rule_never_shows_as_ride_in(tmp_path):
    poster = render_poster(unconfirmed_bundle(), CID, config=CONFIG, paper="A4")
    assert poster.subtitle == "全区总图 — 骑手通行：待核实"
    text = _pdf_text(poster, tmp_path)
    assert "骑手通行：待核实" in text and "可骑行进入" not in text
    # the inferred gates: a distinct symbol, named in the legend, labelled 待核实 in grey
    assert {s.kind for s in poster.symbols if s.kind.startswith("gate:")} == {"gate:unknown"}
    assert "gate:unknown" in poster.legend and "gate:ride" not in poster.legend
    gate_labels = [p.text for p in poster.labels if p.kind == "gate"]
    assert gate_labels and all(t.endswith("（待核实）") for t in gate_labels)
    grey = [t for t in poster.figure.axes[0].texts if (t.get_gid() or "").startswith("label:gate:")]
    assert grey and all(t.get_color() == "#4d4d4d" for t in grey)
    assert "出入口：待核实" in text
    poster.figure.clear()


def test_gate_poster_of_an_inferred_gate_says_to_be_confirmed(tmp_path):
    poster = render_poster(unconfirmed_bundle(), CID, gate="南侧出入口", config=CONFIG, paper="A4")
    assert poster.subtitle == "您在这里：南侧出入口（待核实） — 骑手通行：待核实"
    en = render_poster(
        unconfirmed_bundle(), CID, gate="南侧出入口", paper="A4", config=Config(language="en", data_date="2026-11")
    )
    assert en.subtitle.endswith("Rider access: to be confirmed") and "Ride in" not in en.subtitle
    poster.figure.clear()
    en.figure.clear()


def test_draft_band_auto_on_without_confirmed_gate_and_off_when_disabled(tmp_path):
    auto = render_poster(unconfirmed_bundle(), CID, config=CONFIG, paper="A4")
    assert auto.draft and "草图/DRAFT" in _pdf_text(auto, tmp_path, "auto.pdf")
    off = render_poster(unconfirmed_bundle(), CID, config=Config(data_date="2026-11", draft=False), paper="A4")
    assert not off.draft and "DRAFT" not in _pdf_text(off, tmp_path, "off.pdf")
    # confirmed gates: auto leaves the band off, true forces it
    confirmed = render_poster(make_bundle(), CID, config=CONFIG, paper="A4")
    assert not confirmed.draft and "DRAFT" not in _pdf_text(confirmed, tmp_path, "confirmed.pdf")
    forced = render_poster(make_bundle(), CID, config=Config(draft=True), paper="A4")
    assert forced.draft and "草图/DRAFT" in _pdf_text(forced, tmp_path, "forced.pdf")
    for p in (auto, off, confirmed, forced):
        p.figure.clear()


def test_title_is_never_the_osm_id():
    placeholder = render_poster(unconfirmed_bundle(name="小区 w609225889"), CID, config=CONFIG, paper="A4")
    assert placeholder.title == "未命名小区（待核实） 骑手指引图" and "w609225889" not in placeholder.title
    inferred = render_poster(unconfirmed_bundle(name="学院路20号", name_inferred=True), CID, config=CONFIG, paper="A4")
    assert inferred.title == "学院路20号（待核实） 骑手指引图"
    assert "gate:unknown" in inferred.legend
    # confirmed gates, inferred name: the legend explains 待核实
    b = make_bundle()
    comm = b.communities.copy()
    comm["name"], comm["inferred"] = "学院路20号", "name"
    named = render_poster(b.replace(communities=comm), CID, config=CONFIG, paper="A4")
    assert named.title == "学院路20号（待核实） 骑手指引图" and "unconfirmed" in named.legend
    named.figure.clear()
    placeholder.figure.clear()
    inferred.figure.clear()


def test_no_gate_and_no_index_are_said_plainly(tmp_path):
    b = make_bundle()
    b = b.replace(gates=b.gates.iloc[:0], buildings=b.buildings.iloc[:0], units=b.units.iloc[:0])
    poster = render_poster(b, CID, config=CONFIG, paper="A4")
    assert poster.draft  # no gate at all: no confirmed gate
    text = _pdf_text(poster, tmp_path)
    assert "暂无已知出入口，请调查补充" in text
    assert "暂无楼栋编号和单元门数据，请调查补充" in text
    poster.figure.clear()


def test_confirmed_helpers_and_config():
    assert not gate_confirmed(inferred="location,rider_access", rider_access="unknown")
    assert not gate_confirmed(inferred="", rider_access="unknown")
    assert gate_confirmed(inferred="", rider_access="none")
    assert access_label("", "zh") == "待核实" and access_label("bogus", "en") == "To be confirmed"
    assert compound_title("", "", "en") == ("Unnamed compound (to be confirmed)", True)
    gates = make_bundle().gates
    assert not needs_draft("auto", gates, CID) and needs_draft("auto", gates.iloc[:0], CID)
    assert needs_draft(True, gates, CID) and not needs_draft(False, gates.iloc[:0], CID)


@pytest.mark.parametrize(("value", "expected"), [('"auto"', "auto"), ("true", True), ("false", False)])
def test_config_draft_values(tmp_path, value, expected):
    path = tmp_path / "ridermap.toml"
    path.write_text(f"[build]\ndraft = {value}\n", encoding="utf-8")
    assert load_config(path).draft == expected


def test_config_draft_bad_value(tmp_path):
    path = tmp_path / "ridermap.toml"
    path.write_text('[build]\ndraft = "maybe"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="build.draft"):
        load_config(path)


@pytest.fixture(scope="module")
def xueyuanlu():
    """xueyuanlu as ingest reads it: compound rules unknown (OSM has no access tags), names and gates inferred."""
    from ridermap.ingest import bundle_from_sources

    b = bundle_from_sources([str(shared_osm("beijing_xueyuanlu.osm"))], admin_code="110108")
    assert (b.communities["rider_access"] == "unknown").all()  # what the inferring reader promises
    return b


def test_xueyuanlu_poster_without_gate(xueyuanlu, tmp_path):
    poster = render_poster(xueyuanlu, XUEYUANLU_NO_GATE, config=CONFIG, paper="A3")
    text = _pdf_text(poster, tmp_path)
    assert poster.draft and "草图/DRAFT" in text
    assert "暂无已知出入口，请调查补充" in text and "骑手通行：待核实" in text and "可骑行进入" not in text
    assert "富润家园" in poster.title
    poster.figure.clear()


def test_xueyuanlu_inferred_gate_candidate(xueyuanlu, tmp_path):
    """A gate candidate where a path crosses the outline: hollow symbol, 待核实, the band stays on."""
    view = xueyuanlu.community(XUEYUANLU_NO_GATE)
    outline = view.communities.geometry.iloc[0].boundary
    p = outline.interpolate(0.3, normalized=True)
    gates = gpd.GeoDataFrame(
        [
            {
                "id": f"{XUEYUANLU_NO_GATE}-gx1",
                "community_id": XUEYUANLU_NO_GATE,
                "name": "南侧出入口",
                "rider_access": "unknown",
                "locked": False,
                "survey_key": "G1",
                "inferred": "location,rider_access",
                "source": "inferred:crossing",
            }
        ],
        geometry=[Point(p.x, p.y)],
        crs="EPSG:4326",
    )
    b = xueyuanlu.replace(
        gates=gpd.GeoDataFrame(pd.concat([xueyuanlu.gates, gates], ignore_index=True), crs="EPSG:4326")
    )
    poster = render_poster(b, XUEYUANLU_NO_GATE, gate="南侧出入口", config=CONFIG, paper="A3")
    assert poster.draft and "gate:unknown" in poster.legend
    text = _pdf_text(poster, tmp_path)
    assert "南侧出入口（待核实）" in text and "可骑行进入" not in text and "暂无已知出入口" not in text
    poster.figure.clear()


# --------------------------------------------------------------------------- doorplates


def _plates(bundle, cid, **kw):
    from ridermap.render.doorplate import plates_for_community

    return plates_for_community(bundle, cid, config=kw.pop("config", CONFIG), **kw)


def _assert_distinct(plates):
    texts = [(p.address, p.headline, p.details) for p in plates]  # what a person reads, plus code aside
    assert len(set(texts)) == len(texts), [t for t in texts if texts.count(t) > 1][:3]
    assert len({p.payload for p in plates}) == len(plates)


def test_xueyuanlu_plates_of_a_compound_never_read_the_same(xueyuanlu):
    for cid in xueyuanlu.community_ids():
        plates = _plates(xueyuanlu, cid)
        _assert_distinct(plates)
        keys = dict(zip(xueyuanlu.buildings["id"], xueyuanlu.buildings["survey_key"]))
        for p in plates:
            assert "w" + cid.rsplit("-w", 1)[-1] not in p.address  # never the compound's OSM id as its name
            if p.kind == "building" and "未编号楼栋" in p.address:
                # the survey key (or, without one, the OSM id) large
                key = keys[p.plate_id] or p.plate_id.rsplit("_", 1)[-1]
                assert p.headline == key and p.address.endswith(f"未编号楼栋 {key}")


def test_survey_keys_are_the_headline_of_unnumbered_plates(xueyuanlu):
    cid = "110108-w609225889"
    b = xueyuanlu.buildings.copy()
    mine = (b["community_id"] == cid).to_numpy()
    b.loc[mine, "survey_key"] = [f"B{i:02d}" for i in range(1, int(mine.sum()) + 1)]
    plates = _plates(xueyuanlu.replace(buildings=b), cid)
    _assert_distinct(plates)
    unnumbered = [p for p in plates if p.kind == "building" and "未编号楼栋" in p.address]
    assert len(unnumbered) == 29
    for p in unnumbered:
        assert re.fullmatch(r"B\d\d", p.headline) and p.address.endswith(f"未编号楼栋 {p.headline}")
        assert f"调查编号 {p.headline}，楼号待核实" in p.details


def test_unit_without_number_carries_its_key():
    from tests.test_doorplates import CID as PCID
    from tests.test_doorplates import make_bundle as plate_bundle

    b = plate_bundle()
    u = b.units.copy()
    u["survey_key"] = [f"U0{i}-1" for i in range(len(u))]
    bb = b.buildings.copy()
    bb["survey_key"] = [f"B0{i}" for i in range(len(bb))]
    plates = {p.plate_id: p for p in _plates(b.replace(units=u, buildings=bb), PCID)}
    unit = plates[f"{PCID}-b_w99-u_n5"]
    assert unit.headline == "U04-1" and unit.address.endswith("未编号楼栋 B03 未编号单元 U04-1")
    assert plates[f"{PCID}-b7-u1"].headline == "1单元"  # numbered: as before


def test_gate_plate_of_unknown_rule_says_to_be_confirmed():
    b = unconfirmed_bundle()
    plates = [p for p in _plates(b, CID) if p.kind == "gate"]
    assert plates and all(p.details == ("骑手通行：待核实", "位置待核实") for p in plates)
    assert all("可骑行进入" not in p.visible_text() for p in plates)
    assert all(p.draft.startswith("草图 / DRAFT") for p in plates)  # no confirmed gate: the band, auto
    assert not any(p.draft for p in _plates(b, CID, draft=False))
    assert not any(p.draft for p in _plates(make_bundle(), CID))  # confirmed gates: no band


@pytest.mark.parametrize(("cid", "n_plates", "draft"), [(XUEYUANLU_NO_GATE, 5, True), ("110108-w609225889", 39, False)])
def test_xueyuanlu_plates_still_decode(xueyuanlu, tmp_path, cid, n_plates, draft):
    import dataclasses
    import json

    from ridermap.publish.doorplates import write_doorplates

    if subprocess.run(["which", "pdftoppm"], capture_output=True).returncode:
        pytest.skip("pdftoppm not installed")
    # OSM gates there carry no access tag (rule 待核实), so "auto" would draw the band: switch it off
    config = CONFIG if draft else dataclasses.replace(CONFIG, draft=False)
    write_doorplates(xueyuanlu, cid, tmp_path, config=config, verify=True, per_plate=draft)
    folder = tmp_path / cid
    summary = json.loads((folder / "verification.json").read_text(encoding="utf-8"))
    assert summary["plates"] == summary["verified"] == n_plates and summary["failed"] == 0
    sheets = next(folder.glob("doorplates-*.pdf"))
    text = re.sub(
        r"\s+", "", subprocess.run(["pdftotext", str(sheets), "-"], capture_output=True, text=True, check=True).stdout
    )
    if not draft:
        assert "DRAFT" not in text and text.count("未编号楼栋") >= 29
        return
    key = xueyuanlu.buildings.set_index("id").loc[f"{XUEYUANLU_NO_GATE}-b_w167350464", "survey_key"] or "w167350464"
    assert text.count("草图/DRAFT") == 5 and f"未编号楼栋{key}" in text
    svg = next((folder / "plates").glob("*.svg")).read_text(encoding="utf-8")
    assert 'class="draft"' in svg


# --------------------------------------------------------------------------- rider site


def _site(bundle, cid):
    from ridermap.analysis.context import Analysis
    from ridermap.render.site import render_community

    return render_community(bundle.community(cid), config=CONFIG, analysis=Analysis(bundle))


def test_site_says_to_be_confirmed_for_unknown_rules_and_inferred_gates():
    b = unconfirmed_bundle(name="小区 w123")
    g = b.gates.copy()
    g.loc[0, "name"] = '<img src=x onerror="alert(1)">'  # hostile names stay escaped
    pages = _site(b.replace(gates=g), CID)
    html = pages[f"c/{CID}.html"]
    assert 'class="rm-access rm-unknown"' in html and "可骑行进入" not in html
    assert html.count("推测出入口，待核实") == 2 and "rm-gate-unconfirmed" in html
    assert "未命名小区（待核实）" in html and "Unnamed compound (to be confirmed)" in html and "w123" not in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    data = (
        pages[f"data/{CID}.js"] if f"data/{CID}.js" in pages else next(v for k, v in pages.items() if k.endswith(".js"))
    )
    assert '"u":true' in data and '"a":"unknown"' in data and "<img" not in data
    # unit pages: the route goes through an unconfirmed gate on foot, named with 待核实
    unit = next(v for k, v in pages.items() if k.startswith("u/"))
    assert "（待核实）" in unit and "(to be confirmed)" in unit
    assert "rm-access rm-ride" not in unit  # nobody rides through an unconfirmed gate


def test_site_without_gate_or_buildings_says_so():
    b = make_bundle()
    b = b.replace(gates=b.gates.iloc[:0])
    html = _site(b, CID)[f"c/{CID}.html"]
    assert "暂无已知出入口，请调查补充" in html and "No known gate yet" in html


def test_xueyuanlu_site_pages(xueyuanlu):
    from ridermap.render.site import render_index

    html = _site(xueyuanlu, XUEYUANLU_NO_GATE)[f"c/{XUEYUANLU_NO_GATE}.html"]
    assert "暂无已知出入口，请调查补充" in html and "rm-unknown" in html
    key = xueyuanlu.buildings.set_index("id").loc[f"{XUEYUANLU_NO_GATE}-b_w167350464", "survey_key"] or "w167350464"
    assert f"未编号楼栋 {key}" in html and f"Building (no number) {key}" in html
    index = render_index(xueyuanlu, config=CONFIG)
    assert "小区 w609225889" not in index and ">w609225889<" not in index
    inferred = xueyuanlu.communities.set_index("id").loc["110108-w609225889"]
    if "name" in inferred["inferred"]:  # the inferring reader named it: 待核实
        assert f"{inferred['name']}（待核实）" in index
    else:
        assert "未命名小区（待核实）" in index
    assert "可骑行进入" not in index.split('id="rm-page"')[0]


def test_inferred_numbers_are_grey_and_here_legend_shows_the_gate_symbol():
    b = unconfirmed_bundle()
    bl = b.buildings.copy()
    bl.loc[0, "inferred"] = "number"
    poster = render_poster(b.replace(buildings=bl), CID, gate="南侧出入口", config=CONFIG, paper="A4")
    texts = {t.get_gid(): t for t in poster.figure.axes[0].texts if t.get_gid()}
    assert texts[f"label:building:{bl.loc[0, 'id']}"].get_color() == "#4d4d4d"
    assert texts[f"label:building:{bl.loc[1, 'id']}"].get_color() == "#000000"
    # the "you are here" legend sample carries the hollow symbol of this unconfirmed gate
    faces = [ln.get_markerfacecolor() for ln in poster.figure.axes[0].lines if ln.get_fillstyle() == "none"]
    assert len(faces) >= 3  # on the map, in the gate list, in the legend ("gate:unknown" and "here")
    poster.figure.clear()


def test_gap_pdf_title_is_never_the_osm_id(xueyuanlu):
    from ridermap.analysis.gaps import gap_report
    from ridermap.render.gapmap import gap_figure

    report = gap_report(xueyuanlu, config=Config())
    fig = gap_figure(report, xueyuanlu, "110108-w609225889")
    titles = [t.get_text() for t in fig.texts]
    assert any("（待核实） · " in t for t in titles) and not any("w609225889" in t for t in titles)
    fig.clear()
