"""Survey packs (issue 9 item 1): keys, marks, the pre-filled workbook, the survey map, init and the round trip.

Real data: ``../shared/data/osm/beijing_xueyuanlu.osm`` (10 compounds, most with no
gate, no building number and no unit door), via ``conftest.shared_osm``.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import gap_table_ids, shared_osm

ADMIN = "110108"
FILLED = "110108-w960760118"  # 双泉嘉苑: 5 buildings, inner paths, no gate in OSM


@pytest.fixture(scope="module")
def xy_bundle():
    from ridermap.ingest import bundle_from_sources

    return bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code=ADMIN)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """`ridermap init` on xueyuanlu: config + 10 survey packs."""
    import cli

    osm = shared_osm("beijing_xueyuanlu.osm")
    root = tmp_path_factory.mktemp("init") / "proj"
    result = CliRunner().invoke(cli.main, ["init", str(root), "--from", str(osm), "--admin-code", ADMIN])
    assert result.exit_code == 0, result.output
    return root


# --------------------------------------------------------------------------- keys and marks


def test_keys_fill_every_compound_feature_and_are_stable_across_row_order(xy_bundle):
    from ridermap.model.survey_keys import assign_keys

    b = xy_bundle.buildings
    inside = b[b["community_id"] != ""]
    assert (inside["survey_key"].str.match(r"^B\d{2}$")).all()
    assert (b.loc[b["community_id"] == "", "survey_key"] == "").all()
    for _, group in inside.groupby("community_id"):
        assert sorted(group["survey_key"]) == [f"B{i:02d}" for i in range(1, len(group) + 1)]
    g = xy_bundle.gates
    for _, group in g.groupby("community_id"):
        assert sorted(group["survey_key"], key=lambda k: int(k[1:])) == [f"G{i}" for i in range(1, len(group) + 1)]
    # same data, rows shuffled and keys cleared: the same keys for the same features
    shuffled = xy_bundle.replace(
        buildings=b.assign(survey_key="").sample(frac=1.0, random_state=3).reset_index(drop=True),
        gates=g.assign(survey_key="").iloc[::-1].reset_index(drop=True),
    )
    again = assign_keys(shuffled)
    assert dict(zip(again.buildings["id"], again.buildings["survey_key"])) == dict(zip(b["id"], b["survey_key"]))
    assert dict(zip(again.gates["id"], again.gates["survey_key"])) == dict(zip(g["id"], g["survey_key"]))


def test_keys_go_north_to_south_and_new_features_get_the_next_free_number(xy_bundle):
    import geopandas as gpd

    from ridermap.model.survey_keys import assign_keys

    b = xy_bundle.buildings
    mine = b[b["community_id"] == FILLED].copy()
    ys = mine.geometry.representative_point().y
    first, last = mine.loc[ys.idxmax(), "survey_key"], mine.loc[ys.idxmin(), "survey_key"]
    assert first == "B01" and last == f"B{len(mine):02d}"
    new = mine.iloc[[0]].copy()
    new["id"], new["survey_key"], new["source"] = "new-b", "", "survey.xlsx:楼栋:9"
    new["geometry"] = new.geometry.translate(0.0, 0.01)  # far north: would be B01 if numbered from scratch
    grown = assign_keys(
        xy_bundle.replace(buildings=gpd.GeoDataFrame(pd.concat([b, new], ignore_index=True), crs=b.crs))
    )
    keys = dict(zip(grown.buildings["id"], grown.buildings["survey_key"]))
    assert keys["new-b"] == f"B{len(mine) + 1:02d}"
    assert all(keys[i] == k for i, k in zip(mine["id"], mine["survey_key"]))


def test_unit_keys_follow_their_building_key():
    from ridermap.ingest import bundle_from_sources
    from ridermap.model.survey_keys import assign_keys

    bundle = bundle_from_sources([Path(__file__).parent.parent / "data" / "sample" / "base.osm"], admin_code="510104")
    u = assign_keys(bundle).units
    bkey = dict(zip(bundle.buildings["id"], bundle.buildings["survey_key"]))
    assert len(u) and (u["survey_key"] != "").all()
    for bid, group in u.groupby("building_id"):
        digits = bkey[bid][1:]
        assert sorted(group["survey_key"]) == sorted(f"U{digits}-{i}" for i in range(1, len(group) + 1))
        xs = group.geometry.x.values[np.argsort([int(k.split("-")[1]) for k in group["survey_key"]])]
        assert (np.diff(xs) >= -1e-5).all()  # west to east


def test_outline_marks_every_15_m_clockwise_from_the_north(xy_bundle):
    from ridermap.model.survey_keys import compound_metric, outline_marks

    for cid in xy_bundle.community_ids()[:4]:
        marks = outline_marks(xy_bundle, cid)
        metric = compound_metric(xy_bundle, cid)
        xy = shapely.get_coordinates(metric.forward(list(marks.geometry)))
        outline = metric.forward([xy_bundle.communities.set_index("id").geometry[cid]])[0]
        ring = max(getattr(outline, "geoms", [outline]), key=lambda p: p.area).exterior
        assert list(marks["mark"]) == [f"S{i}" for i in range(1, len(marks) + 1)]
        steps = np.hypot(*np.diff(xy, axis=0).T)
        assert steps.max() <= 15.0 * 1.2 and ring.length / len(marks) == pytest.approx(15.0, rel=0.2)
        assert xy[0, 1] == pytest.approx(np.asarray(ring.coords)[:, 1].max(), abs=0.01)
        assert shapely.Polygon(xy).exterior.is_ccw is False  # clockwise
        assert shapely.distance(ring, shapely.points(xy)).max() < 0.01


def test_building_side_marks_name_the_facing_side_and_sit_on_the_wall(xy_bundle):
    from ridermap.model.survey_keys import building_side_marks, compound_metric

    b = xy_bundle.buildings
    bid = b[(b["community_id"] == FILLED) & (b["survey_key"] == "B01")]["id"].iloc[0]
    marks = building_side_marks(xy_bundle, bid)
    assert set(marks["side"]) in ({"南", "北"}, {"东", "西"}, {"东南", "西北"}, {"东北", "西南"})
    for side, group in marks.groupby("side"):
        assert list(group["mark"]) == [f"B01 {side} {i}" for i in range(1, len(group) + 1)]
    metric = compound_metric(xy_bundle, FILLED)
    poly = metric.forward([b.set_index("id").geometry[bid]])[0]
    pts = metric.forward(list(marks.geometry))
    assert shapely.distance(poly.boundary, pts).max() < 0.05
    south = marks[marks["side"] == "南"]
    if len(south) > 1:  # west to east along a south wall
        assert (np.diff(south.geometry.x.values) > 0).all()


# --------------------------------------------------------------------------- the pack


def test_init_writes_config_and_a_pack_per_compound(project, xy_bundle):
    from ridermap.config import load_config

    config = load_config(project / "ridermap.toml")
    packs = sorted(p.name for p in (project / "survey").iterdir())
    assert packs == sorted(xy_bundle.community_ids()) and len(packs) == 10
    assert sum(s.path.endswith("survey.xlsx") for s in config.sources) == 10
    assert any(s.path.endswith("beijing_xueyuanlu.osm") for s in config.sources)
    for cid in packs:
        assert (project / "survey" / cid / "survey.xlsx").stat().st_size > 5000
        assert (project / "survey" / cid / "survey-map.pdf").read_bytes()[:5] == b"%PDF-"


def test_workbook_has_template_sheets_keys_dropdowns_example_and_frozen_header(project, xy_bundle):
    template = openpyxl.load_workbook(Path(__file__).parent.parent / "data" / "templates" / "survey_template.xlsx")
    wb = openpyxl.load_workbook(project / "survey" / FILLED / "survey.xlsx")
    assert wb.sheetnames == template.sheetnames
    for name in template.sheetnames[1:]:
        want = [c.value for c in template[name][1] if c.value]
        have = [c.value for c in wb[name][1]]
        assert set(want) <= set(have), name
        assert "调查编号" in have
        assert wb[name].freeze_panes in ("A2", "B2")
        assert all(
            wb[name].column_dimensions[openpyxl.utils.get_column_letter(i)].width >= 8 for i in range(1, len(have) + 1)
        )
    assert "位置标记" in [c.value for c in wb["出入口"][1]] and "位置标记" in [c.value for c in wb["单元"][1]]
    # pre-filled: every building of the compound by key, in key order
    sheet = wb["楼栋"]
    keys = [r[0].value for r in sheet.iter_rows(min_row=2) if r[0].value]
    mine = xy_bundle.buildings[xy_bundle.buildings["community_id"] == FILLED]
    assert keys == ["示例"] + sorted(mine["survey_key"])
    sources = {r[9].value for r in sheet.iter_rows(min_row=3) if r[0].value}
    assert sources == set(mine["source"])
    # drop-downs on every enumerated column
    lists = {}
    for name in ("出入口", "设施", "道路", "小区"):
        head = [c.value for c in wb[name][1]]
        for dv in wb[name].data_validations.dataValidation:
            col = openpyxl.utils.column_index_from_string(str(dv.sqref).split(":")[0].rstrip("0123456789"))
            lists[(name, head[col - 1])] = dv.formula1
    assert "可骑行" in lists[("出入口", "骑手通行")] and "禁止" in lists[("出入口", "骑手通行")]
    assert lists[("出入口", "上锁")] == '"是,否"'
    assert "充电桩" in lists[("设施", "类型")] and "快递柜" in lists[("设施", "类型")]
    assert "footway" in lists[("道路", "类型")] and ("道路", "可骑行") in lists
    guide = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    for word in ("调查编号", "位置标记", "B07 南 2", "S1", "示例", "ridermap build"):
        assert word in guide


def test_survey_map_pdf_has_every_key_as_text(project, xy_bundle):
    from pypdf import PdfReader

    for cid in (FILLED, "110108-w609225889"):
        reader = PdfReader(project / "survey" / cid / "survey-map.pdf")
        page = reader.pages[0]
        w, h = float(page.mediabox.width) / 72 * 25.4, float(page.mediabox.height) / 72 * 25.4
        assert sorted((round(w), round(h))) == [297, 420]  # A3
        fonts = str(page["/Resources"]["/Font"])
        assert "/Type3" in fonts or any("Type3" in str(f.get_object()) for f in page["/Resources"]["/Font"].values())
        text = page.extract_text()
        tokens = set(re.findall(r"[BGU]\d+(?:-\d+)?|S\d+", text))
        for layer in ("buildings", "gates", "units"):
            keys = set(getattr(xy_bundle, layer).query("community_id == @cid")["survey_key"])
            assert keys <= tokens, (cid, layer, keys - tokens)
        assert "调查底图" in text and "北" in text


def test_unfilled_packs_change_nothing(project, xy_bundle):
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config

    with_packs = bundle_from_config(load_config(project / "ridermap.toml"))
    assert with_packs.findings == xy_bundle.findings  # the packs add no finding of their own
    for name, layer in xy_bundle.layers().items():
        other = with_packs.layers()[name]
        assert layer.drop(columns="geometry").equals(other.drop(columns="geometry")), name
        assert layer.geometry.geom_equals_exact(other.geometry, 1e-9).all(), name


# --------------------------------------------------------------------------- fill by script and build


def _append(ws, values: dict) -> int:
    head = [c.value for c in ws[1]]
    row = max(r for r in range(1, ws.max_row + 1) if any(ws.cell(r, c).value for c in range(1, len(head) + 1))) + 1
    for col, value in values.items():
        ws.cell(row, head.index(col) + 1, value)
    return row


def _fill_pack(path: Path, bundle, cid: str) -> dict:
    """Fill a pack as a grid worker would, from what the map shows (keys and marks)."""
    from ridermap.model.survey_keys import compound_marks, compound_metric

    wb = openpyxl.load_workbook(path)
    numbers = {}
    sheet = wb["楼栋"]
    for row in sheet.iter_rows(min_row=3):
        key = row[0].value
        if key:
            numbers[key] = str(20 + int(key[1:]))
            row[2].value, row[3].value, row[4].value = numbers[key], f"{numbers[key]}号楼", 6
    marks = compound_marks(bundle, cid)
    metric = compound_metric(bundle, cid)
    inner = bundle.paths[bundle.paths["community_id"] == cid]
    outline = marks[marks["building_id"] == ""]
    d = shapely.distance(
        metric.forward(list(outline.geometry))[:, None], metric.forward(list(inner.geometry))[None, :]
    ).min(axis=1)
    gate_mark = outline["mark"].iloc[int(np.argmin(d))]
    _append(wb["出入口"], {"位置标记": gate_mark, "小区": cid, "名称": "大门", "骑手通行": "可骑行", "上锁": "否"})
    doors = []
    for key in sorted(numbers):
        sides = marks[marks["mark"].str.startswith(key + " ")]
        side = "南" if (sides["side"] == "南").any() else sides["side"].iloc[0]
        for order in (1, 2):
            mark = f"{key} {side} {order}"
            if (sides["mark"] == mark).any():
                _append(wb["单元"], {"位置标记": mark, "小区": cid, "单元号": str(order)})
                doors.append((key, order))
    _append(wb["设施"], {"位置标记": gate_mark, "类型": "骑手停车点", "名称": "大门停车点", "小区": cid})
    _append(wb["设施"], {"位置标记": gate_mark, "类型": "充电桩", "名称": "大门充电桩", "小区": cid})
    wb.save(path)
    return {"numbers": numbers, "gate_mark": gate_mark, "doors": doors}


@pytest.fixture(scope="module")
def filled(project, xy_bundle, tmp_path_factory):
    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config

    filled = _fill_pack(project / "survey" / FILLED / "survey.xlsx", xy_bundle, FILLED)
    bundle = bundle_from_config(load_config(project / "ridermap.toml"))
    return filled, bundle


def test_filled_pack_applies_row_by_row(filled):
    fill, bundle = filled
    assert not [f for f in bundle.findings if f.severity == "error"], bundle.findings
    b = bundle.buildings[bundle.buildings["community_id"] == FILLED]
    assert dict(zip(b["survey_key"], b["number"])) == fill["numbers"]
    assert set(b["label"]) == {f"{n}号楼" for n in fill["numbers"].values()}
    assert (b["levels"] == 6).all()
    assert b["id"].str.match(rf"^{FILLED}-b2\d$").all()
    g = bundle.gates[bundle.gates["community_id"] == FILLED]
    assert list(g["name"]) == ["大门"] and list(g["rider_access"]) == ["ride"] and list(g["survey_key"]) == ["G1"]
    u = bundle.units[bundle.units["community_id"] == FILLED]
    assert len(u) == len(fill["doors"])
    bkey = dict(zip(b["id"], b["survey_key"]))
    assert sorted((bkey[bid], int(n)) for bid, n in zip(u["building_id"], u["number"])) == sorted(fill["doors"])
    assert u["id"].is_unique and (u["survey_key"] != "").all()
    f = bundle.facilities[bundle.facilities["community_id"] == FILLED]
    assert sorted(f["kind"]) == ["charger", "rider_parking"]


def test_filled_pack_builds_posters_plates_pages_and_gaps(filled, project, tmp_path):
    from ridermap.config import load_config
    from ridermap.publish.build import build

    fill, bundle = filled
    config = dataclasses.replace(
        load_config(project / "ridermap.toml"),
        communities=(FILLED,),
        workers=1,
        outputs=("posters", "doorplates", "site", "gaps"),
        paper="A3",
    )
    out = tmp_path / "out"
    build(bundle, out, config=config)
    overview = out / "posters" / FILLED / f"{FILLED}-overview.pdf"
    text = subprocess.run(["pdftotext", "-raw", str(overview), "-"], capture_output=True, text=True, check=True).stdout
    for number in fill["numbers"].values():
        assert re.search(rf"(?<!\d){number}(?!\d)", text), number
    with (out / "doorplates" / FILLED / "index.csv").open(encoding="utf-8-sig") as fh:
        index = list(csv.DictReader(fh))
    addresses = [next(v for k, v in row.items() if "address" in k.lower()) for row in index]
    assert len(addresses) == len(set(addresses)) and len(index) >= len(fill["doors"]) + len(fill["numbers"])
    units = bundle.units[bundle.units["community_id"] == FILLED]
    for uid in units["id"]:
        assert (out / "site" / "u" / f"{uid}.html").is_file(), uid
    gaps = gap_table_ids(pd.read_csv(out / "gaps" / "units.csv", encoding="utf-8-sig"))
    mine = gaps[gaps[gaps.columns[0]].astype(str).isin(set(units["id"]))]
    assert len(mine) == len(units)
    for kind in ("rider_parking", "charger"):
        col = next(c for c in gaps.columns if kind in c and ("dist" in c or c.endswith("_m")))
        assert np.isfinite(mine[col].astype(float)).all(), (kind, mine[col].tolist())


# --------------------------------------------------------------------------- errors and hostile text


def test_unknown_keys_and_marks_are_findings_naming_file_row_and_column(project, xy_bundle, tmp_path):
    from ridermap.ingest import bundle_from_sources

    pack = tmp_path / "survey.xlsx"
    shutil.copy(project / "survey" / "110108-w594891968" / "survey.xlsx", pack)
    wb = openpyxl.load_workbook(pack)
    r1 = _append(wb["楼栋"], {"调查编号": "B99", "小区": "110108-w594891968", "编号": "9"})
    r2 = _append(wb["出入口"], {"位置标记": "S999", "小区": "110108-w594891968", "骑手通行": "步行"})
    r3 = _append(wb["单元"], {"位置标记": "B01 东南西 1", "小区": "110108-w594891968", "单元号": "1"})
    wb.save(pack)
    bundle = bundle_from_sources([shared_osm("beijing_xueyuanlu.osm"), pack], admin_code=ADMIN)
    errors = [f for f in bundle.findings if f.severity == "error"]
    where = {(f.source, f.column) for f in errors}
    assert where == {
        (f"survey.xlsx:楼栋:{r1}", "调查编号"),
        (f"survey.xlsx:出入口:{r2}", "位置标记"),
        (f"survey.xlsx:单元:{r3}", "位置标记"),
    }
    assert all(f"第 {f.source.rsplit(':', 1)[1]} 行" in f.message_zh and "row" in f.message_en for f in errors)
    assert len(bundle.gates) == len(xy_bundle.gates) and len(bundle.units) == 0


def test_formula_text_is_stored_as_text_and_reads_back_unchanged(xy_bundle, tmp_path):
    from ridermap.ingest.survey import read_survey
    from ridermap.publish.survey_pack import survey_workbook

    cid = "110108-w594891968"
    comm = xy_bundle.communities.copy()
    evil = '=HYPERLINK("http://x","y")'
    comm.loc[comm["id"] == cid, "name"] = evil
    b = xy_bundle.buildings.copy()
    sel = b.index[b["community_id"] == cid][:2]
    b.loc[sel[0], "label"], b.loc[sel[1], "label"] = "@SUM(1)", "-2+3\tx\rny\x07"
    wb = survey_workbook(xy_bundle.replace(communities=comm, buildings=b), cid)
    path = tmp_path / "survey.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        xml = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert "<f>" not in xml and "<f " not in xml
    back = openpyxl.load_workbook(path)
    cell = next(c for row in back["小区"].iter_rows() for c in row if c.value == evil)
    assert cell.data_type == "s" and cell.quotePrefix
    tables = read_survey(path)
    assert evil in set(tables["communities"]["name"])
    labels = set(tables["buildings"]["label"])
    assert "@SUM(1)" in labels
    assert labels & {"-2+3\tx\rny", "-2+3\tx\nny"}  # XML reads CR back as LF; the BEL is removed


def test_cli_survey_one_compound_and_bad_community(tmp_path):
    import cli

    osm = str(shared_osm("beijing_xueyuanlu.osm"))
    runner = CliRunner()
    ok = runner.invoke(
        cli.main, ["survey", osm, "--community", f"{ADMIN[:0]}000000-w1025016911", "-o", str(tmp_path / "p")]
    )
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "p" / "000000-w1025016911" / "survey.xlsx").is_file()
    bad = runner.invoke(cli.main, ["survey", osm, "--community", "nope", "-o", str(tmp_path / "q")])
    assert bad.exit_code == 2 and "nope" in bad.output and "Traceback" not in bad.output
    again = runner.invoke(
        cli.main, ["init", str(tmp_path / "proj"), "--from", osm, "--community", "000000-w1025016911"]
    )
    assert again.exit_code == 0, again.output
    twice = runner.invoke(cli.main, ["init", str(tmp_path / "proj"), "--from", osm])
    assert twice.exit_code == 2 and "already exists" in twice.output


def test_gate_candidate_is_drawn_and_listed_as_to_confirm_and_a_filled_rule_confirms_it(xy_bundle, tmp_path):
    from ridermap.ingest.survey import read_survey
    from ridermap.model.merge import merge_survey
    from ridermap.publish.survey_pack import survey_workbook
    from ridermap.render.survey_map import render_survey_map

    cid = "110108-w609225889"
    gates = xy_bundle.gates.copy()
    sel = (gates["community_id"] == cid) & (gates["survey_key"] == "G2")
    gates.loc[sel, ["rider_access", "inferred", "source"]] = ["unknown", "location,rider_access", "inferred:crossing"]
    bundle = xy_bundle.replace(gates=gates)
    smap = render_survey_map(bundle, cid)
    assert any(t.startswith(gates.loc[sel, "name"].iloc[0]) and "待核实" in t for t in smap.texts)
    assert "G2" in smap.keys
    path = tmp_path / "survey.xlsx"
    survey_workbook(bundle, cid).save(path)
    wb = openpyxl.load_workbook(path)
    head = [c.value for c in wb["出入口"][1]]
    row = next(r for r in wb["出入口"].iter_rows(min_row=3) if r[0].value == "G2")
    assert row[head.index("骑手通行")].value is None and "待核实" in row[head.index("现状")].value
    # untouched: nothing changes; rider rule filled: applied and no longer inferred
    same = merge_survey(bundle, read_survey(path), admin_code=ADMIN, where="survey.xlsx")
    assert same.gates.drop(columns="geometry").equals(bundle.gates.drop(columns="geometry"))
    row[head.index("骑手通行")].value = "步行"
    wb.save(path)
    done = merge_survey(bundle, read_survey(path), admin_code=ADMIN, where="survey.xlsx")
    g = done.gates[(done.gates["community_id"] == cid) & (done.gates["survey_key"] == "G2")].iloc[0]
    assert g["rider_access"] == "walk" and g["inferred"] == "" and len(done.gates) == len(gates)


def test_unit_rows_by_key_update_that_door_and_keys_survive_the_sample_survey(sample_bundle, tmp_path):
    from ridermap.ingest.survey import read_survey
    from ridermap.model.merge import merge_survey
    from ridermap.publish.survey_pack import survey_workbook

    cid = "510104-jhy"
    units = sample_bundle.units[sample_bundle.units["community_id"] == cid]
    assert (units["survey_key"].str.match(r"^U\d{2}-\d+$")).all() and units["survey_key"].is_unique
    target = units.sort_values("survey_key").iloc[0]
    path = tmp_path / "survey.xlsx"
    survey_workbook(sample_bundle, cid).save(path)
    wb = openpyxl.load_workbook(path)
    head = [c.value for c in wb["单元"][1]]
    row = next(r for r in wb["单元"].iter_rows(min_row=3) if r[0].value == target["survey_key"])
    row[head.index("房号范围")].value = "101-999"
    wb.save(path)
    done = merge_survey(sample_bundle, read_survey(path), admin_code="510104", where="survey.xlsx")
    assert done.findings == sample_bundle.findings
    changed = done.units.set_index("id")
    assert changed.loc[target["id"], "flats"] == "101-999"
    assert len(done.units) == len(sample_bundle.units)
    others = done.units[done.units["id"] != target["id"]].drop(columns="geometry").reset_index(drop=True)
    before = (
        sample_bundle.units[sample_bundle.units["id"] != target["id"]].drop(columns="geometry").reset_index(drop=True)
    )
    assert others.equals(before)


def test_a_compound_whose_map_fails_does_not_stop_the_others(xy_bundle, tmp_path, monkeypatch):
    import ridermap.render.survey_map as survey_map
    from ridermap.errors import RenderError
    from ridermap.publish.survey_pack import write_survey_packs

    real = survey_map.render_survey_map
    bad = "110108-w655185052"

    def flaky(bundle, cid, **kw):
        if cid == bad:
            raise RenderError(f"font has no glyph in {cid}")
        return real(bundle, cid, **kw)

    monkeypatch.setattr(survey_map, "render_survey_map", flaky)
    chosen = [bad, "110108-w1025016911", "110108-w1041416781"]
    with pytest.raises(RenderError, match=rf"1 of 3 survey pack\(s\) not written.*{bad}"):
        write_survey_packs(xy_bundle, tmp_path, communities=chosen)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(chosen[1:])
    for cid in chosen[1:]:
        assert (tmp_path / cid / "survey.xlsx").is_file() and (tmp_path / cid / "survey-map.pdf").is_file()


def test_survey_map_draws_names_the_font_lacks_as_boxes(xy_bundle):
    from ridermap.render.survey_map import render_survey_map

    cid = "110108-w1025016911"
    comm = xy_bundle.communities.copy()
    comm.loc[comm["id"] == cid, "name"] = "学士居\U0001f3e0\n\u202e二期"
    smap = render_survey_map(xy_bundle.replace(communities=comm), cid)
    assert "学士居□ 二期" in smap.title and "\n" not in smap.title and "\u202e" not in smap.title


def test_init_config_names_its_compounds_at_top_level(tmp_path):
    """`init --community` limits the project: the key must be top-level TOML, not inside [project]."""
    from ridermap.config import load_config
    from ridermap.publish.survey_pack import init_config_text

    text = init_config_text(tmp_path, [], [], admin_code="110108", name="学院路", communities=("110108-w1",))
    (tmp_path / "ridermap.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "ridermap.toml")
    assert config.communities == ("110108-w1",)
    assert config.admin_code == "110108" and config.name == "学院路" and config.data_date
