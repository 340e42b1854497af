"""Validation a grid worker can fix in one pass (issue 9, items 4 and 5).

Every bad row of every survey file in one run, with file, sheet, row, column
and value, in Chinese and English; new findings (gate far from its compound,
facility far from every compound, invalid opening hours, unparseable numbers,
control characters in names); the findings workbook that marks the bad cells;
bounded memory on a hostile XLSX.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile

import openpyxl
import pytest
import shapely
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_BASE, edit_layer

from ridermap.analysis.validate import format_text, validate
from ridermap.ingest import bundle_from_sources

# WGS84 points of the sample (data/sample/base.osm): the south gate and door 1 of building 1
SOUTH_GATE = (104.0891269, 30.6523)
DOOR_B1 = (104.0881611, 30.6534276)


def _run(*args: str):
    from cli import main

    return CliRunner().invoke(main, ["validate", *map(str, args), "--no-routes"])


@pytest.fixture
def two_bad_files(tmp_path):
    """A CSV with a bad lon and an unknown kind; an XLSX with invalid hours, an
    unparseable building number and a unit whose building does not exist.
    Each file also has good rows, which must be used."""
    csv_path = tmp_path / "facilities.csv"
    csv_path.write_text(
        "类型,名称,经度,纬度\n"
        f"充电桩,好的充电桩,{DOOR_B1[0]},{DOOR_B1[1]}\n"
        "充电桩,坏经度,abc,30.65\n"
        f"spaceship,飞船,{DOOR_B1[0]},{DOOR_B1[1]}\n",
        encoding="utf-8",
    )
    xlsx_path = tmp_path / "survey.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "出入口"
    ws.append(["小区", "名称", "骑手通行", "时段", "经度", "纬度"])
    ws.append(["锦华苑", "南门", "可骑行", "Mo-Xx 25:00-99:00", *SOUTH_GATE])
    ws.append(["锦华苑", "东门", "步行", "", None, None])
    ws = wb.create_sheet("楼栋")
    ws.append(["小区", "编号", "标注"])
    ws.append(["锦华苑", "楼?", "某楼"])
    ws = wb.create_sheet("单元")
    ws.append(["小区", "楼号", "单元号", "经度", "纬度"])
    ws.append(["锦华苑", "1", "1", *DOOR_B1])
    ws.append(["锦华苑", "99", "1", *DOOR_B1])
    wb.save(xlsx_path)
    return csv_path, xlsx_path


EXPECTED = {  # (code, source, column as written in the file)
    ("bad_number", "facilities.csv:facilities:3", "经度"),
    ("bad_value", "facilities.csv:facilities:4", "类型"),
    ("hours_invalid", "survey.xlsx:出入口:2", "时段"),
    ("number_unparsed", "survey.xlsx:楼栋:2", "编号"),
    ("building_not_found", "survey.xlsx:单元:3", "楼号"),
}


def test_five_bad_rows_in_two_files_one_run(two_bad_files):
    csv_path, xlsx_path = two_bad_files
    result = _run(SAMPLE_BASE, csv_path, xlsx_path, "--format", "json")
    assert result.exit_code == 1, result.output
    findings = json.loads(result.output)
    survey = {
        (f["code"], f["source"], f["column"])
        for f in findings
        if f["severity"] == "error" and f["source"].split(":")[0] in ("facilities.csv", "survey.xlsx")
    }
    assert survey == EXPECTED
    values = {f["code"]: f["value"] for f in findings}
    assert (
        values["bad_number"] == "abc"
        and values["hours_invalid"] == "Mo-Xx 25:00-99:00"
        and values["number_unparsed"] == "楼?"
    )

    text = _run(
        SAMPLE_BASE, csv_path, xlsx_path
    )  # Chinese by default: file, sheet, row, column, value, what is expected
    assert text.exit_code == 1
    line = _line(text.output, "bad_number")
    assert "facilities.csv 第 3 行“经度”列（值“abc”）" in line and "不是数字" in line and "116.35" in line
    line = _line(text.output, "hours_invalid")
    assert "survey.xlsx 工作表“出入口” 第 2 行“时段”列" in line and "未知的星期“Xx”" in line and "第 4 个字符" in line
    assert "工作表“单元”第 3 行“楼号”列（值“99”）" in _line(text.output, "building_not_found")
    assert "无法识别楼号" in _line(text.output, "number_unparsed")


def test_five_bad_rows_in_english(two_bad_files):
    csv_path, xlsx_path = two_bad_files
    result = _run(SAMPLE_BASE, csv_path, xlsx_path, "--lang", "en")
    assert result.exit_code == 1, result.output
    assert "facilities.csv row 3, column 经度 (value 'abc'): lon 'abc' is not a number" in _line(
        result.output, "bad_number"
    )
    assert "facilities.csv row 4, column 类型 (value 'spaceship'): kind 'spaceship' is not one of" in _line(
        result.output, "bad_value"
    )
    line = _line(result.output, "hours_invalid")
    assert "survey.xlsx sheet 出入口 row 2, column 时段" in line and "unknown day 'Xx'" in line
    assert "survey.xlsx sheet 楼栋 row 2, column 编号 (value '楼?'): building number cannot be read" in _line(
        result.output, "number_unparsed"
    )
    assert "survey.xlsx sheet 单元 row 3, column 楼号 (value '99'): building '99' not found" in _line(
        result.output, "building_not_found"
    )
    assert re.search(r"^\d+ errors, \d+ warnings$", result.output.splitlines()[-1])
    assert "; row not used" in result.output and "未采用" not in result.output and "个错误" not in result.output


def test_good_rows_of_bad_files_are_used(two_bad_files):
    csv_path, xlsx_path = two_bad_files
    bundle = bundle_from_sources([SAMPLE_BASE, csv_path, xlsx_path], admin_code="510104")
    assert "好的充电桩" in set(bundle.facilities["name"]) and not {"坏经度", "飞船"} & set(bundle.facilities["name"])
    gates = bundle.gates.set_index("name")
    assert gates.loc["东门", "rider_access"] == "walk"  # the good gate row is applied
    assert gates.loc["南门", "hours"] == ""  # the invalid hours cell is left out, the row is used
    assert gates.loc["南门", "source"].endswith("survey.xlsx:出入口:2")
    assert bundle.units["source"].str.endswith("survey.xlsx:单元:2").any()
    assert not bundle.units["source"].str.endswith("survey.xlsx:单元:3").any()


def _line(output: str, code: str) -> str:
    lines = [ln for ln in output.splitlines() if f" {code} " in ln]
    assert len(lines) == 1, (code, output)
    return lines[0]


# --- unreadable files: exit 2, one line, Chinese by default ---------------------------------


def test_unreadable_file_exit_2_in_both_languages(tmp_path):
    from cli import main

    bad = tmp_path / "survey.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    zh = CliRunner().invoke(main, ["validate", str(SAMPLE_BASE), str(bad)])
    en = CliRunner().invoke(main, ["validate", str(SAMPLE_BASE), str(bad), "--lang", "en"])
    assert zh.exit_code == en.exit_code == 2
    assert zh.output.strip().splitlines() == [f"ridermap: error: {bad}：无法读取为 XLSX（文件不完整或不是工作簿）"]
    assert len(en.output.strip().splitlines()) == 1 and en.output.startswith(
        f"ridermap: error: {bad}: cannot read as XLSX"
    )
    missing = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "nope.csv：文件不存在" in missing.output
    unknown = tmp_path / "stuff.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "杂项"
    wb.active.append(["a", "b"])
    wb.active.append([1, 2])
    wb.save(unknown)
    result = CliRunner().invoke(main, ["validate", str(SAMPLE_BASE), str(unknown), "--lang", "en"])
    assert result.exit_code == 2 and "cannot tell the layer from the sheet '杂项'" in result.output


def test_help_is_chinese_by_default_and_english_with_lang_en():
    from cli import main

    zh = CliRunner().invoke(main, ["validate", "--help"])
    en = CliRunner().invoke(main, ["validate", "--lang", "en", "--help"])
    assert zh.exit_code == en.exit_code == 0
    assert zh.output.startswith("用法：") and "跳过沿道路的可达性检查" in zh.output and "显示此帮助并退出" in zh.output
    assert en.output.startswith("Usage:") and "Skip the reachability check" in en.output and "用法" not in en.output


# --- new findings --------------------------------------------------------------------------


def test_gate_far_from_its_compound_is_an_error(sample_bundle):
    def move(g, dx):
        g = g.copy()
        sel = g["name"] == "东门"
        g.loc[sel, "geometry"] = shapely.affinity.translate(g.loc[sel].geometry.iloc[0], xoff=dx)
        return g

    far = validate(edit_layer(sample_bundle, "gates", lambda g: move(g, 0.0008)), check_routes=False)  # ~77 m east
    hits = [f for f in far if f.code == "gate_far_from_compound"]
    assert len(hits) == 1 and hits[0].severity == "error"
    metres = int(re.search(r"(\d+) m from", hits[0].message_en).group(1))
    assert 60 <= metres <= 95 and f"{metres} 米" in hits[0].message_zh
    near = validate(
        edit_layer(sample_bundle, "gates", lambda g: move(g, 0.0002)), check_routes=False
    )  # ~19 m: a warning only
    assert not [f for f in near if f.code == "gate_far_from_compound"]
    assert [f for f in near if f.code == "gate_off_boundary" and f.severity == "warning"]


def test_facility_far_from_every_compound_is_a_warning(sample_bundle):
    def move(f, dy):
        f = f.copy()
        f.loc[f.index[0], "geometry"] = shapely.affinity.translate(f.geometry.iloc[0], yoff=dy)
        return f

    far = [
        f
        for f in validate(
            edit_layer(sample_bundle, "facilities", lambda f: move(f, 0.045)), check_routes=False
        )  # ~5 km north
        if f.code == "facility_far"
    ]
    assert len(far) == 1 and far[0].severity == "warning" and far[0].id == sample_bundle.facilities["id"].iloc[0]
    assert re.search(r"is [45]\.\d km from every compound", far[0].message_en)
    close = validate(edit_layer(sample_bundle, "facilities", lambda f: move(f, 0.01)), check_routes=False)  # ~1 km
    assert not [f for f in close if f.code == "facility_far"]


@pytest.mark.parametrize(
    "hours, severity, where",
    [
        ("Mo-Xx 25:00-99:00", "error", "unknown day 'Xx'"),
        ("Mo-Fr 25:00-26:00", "error", "hour 25 is out of range"),
        ("Mo-Fr 07:00-09:60", "error", "minute 60 is out of range"),
        ("Mo-Fr 7-9", "error", "'7-9' (character 7): not a time span"),
        ("PH off", "warning", "does not support"),
    ],
)
def test_bad_opening_hours(sample_bundle, hours, severity, where):
    def change(g):
        g.loc[g["name"] == "东门", "hours"] = hours
        return g

    def change_comm(c):
        c["rider_hours"] = hours
        return c

    bundle = edit_layer(edit_layer(sample_bundle, "gates", change), "communities", change_comm)
    hits = [f for f in validate(bundle, check_routes=False) if f.code.startswith("hours_")]
    assert {(f.layer, f.severity) for f in hits} == {("gates", severity), ("communities", severity)}
    assert all(where in f.message_en and f.value == hours for f in hits)
    assert not [f for f in validate(sample_bundle, check_routes=False) if f.code.startswith("hours_")]


# --- hostile text ----------------------------------------------------------------------------


def test_newline_and_bidi_in_names_are_cleaned_with_a_finding(tmp_path):
    csv_path = tmp_path / "facilities.csv"
    evil = "南门充电桩\nERROR   forged_line   units x: 伪造\u202e"
    csv_path.write_text(f'类型,名称,经度,纬度\n充电桩,"{evil}",{DOOR_B1[0]},{DOOR_B1[1]}\n', encoding="utf-8")
    bundle = bundle_from_sources([SAMPLE_BASE, csv_path], admin_code="510104")
    name = bundle.facilities.loc[bundle.facilities["source"].str.contains("facilities.csv"), "name"].iloc[0]
    assert name == "南门充电桩 ERROR forged_line units x: 伪造"
    cleaned = [f for f in bundle.findings if f.code == "text_cleaned"]
    assert len(cleaned) == 1 and cleaned[0].source == "facilities.csv:facilities:2" and "\\n" in cleaned[0].value
    findings = validate(bundle, check_routes=False)
    for language in ("zh", "en"):
        report = format_text(findings, language=language)
        assert len(report.splitlines()) == len(findings) + 1  # one line per finding, nothing forged
        assert "\u202e" not in report and not any(ln.startswith("ERROR   forged_line") for ln in report.splitlines())


def test_format_text_escapes_every_field():
    from ridermap.model.findings import Finding

    f = Finding("error", "x", "units", "id\nERROR fake", "a.csv:units:2\r\n", "名\n称\u202e", "na\nme")
    text = format_text([f], language="zh")
    assert len(text.splitlines()) == 2 and "\u202e" not in text and "\\n" in text


# --- the findings workbook ---------------------------------------------------------------------


def test_findings_workbook_marks_the_bad_cells(tmp_path, two_bad_files):
    csv_path, xlsx_path = two_bad_files
    with csv_path.open("a", encoding="utf-8") as fh:  # a formula in a name, and a name with a newline
        fh.write(f'充电桩,"=HYPERLINK(""http://evil"",""x"")",{DOOR_B1[0]},{DOOR_B1[1]}\n')
    out = tmp_path / "findings.xlsx"
    result = _run(SAMPLE_BASE, csv_path, xlsx_path, "--format", "xlsx", "-o", out)
    assert result.exit_code == 1, result.output
    assert "已写入" in result.output and "findings.xlsx" in result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["问题清单", "facilities", "survey-出入口", "survey-楼栋", "survey-单元"]
    red = "00FFC7CE"
    marked = {
        (ws.title, c.coordinate)
        for ws in wb.worksheets[1:]
        for row in ws.iter_rows()
        for c in row
        if c.fill.fgColor.rgb == red
    }
    assert marked == {
        ("facilities", "C3"),
        ("facilities", "A4"),
        ("survey-出入口", "D2"),
        ("survey-楼栋", "B2"),
        ("survey-单元", "B3"),
    }
    assert "经度不是数字" in wb["facilities"]["C3"].comment.text
    assert wb["facilities"]["C3"].value == "abc" and wb["facilities"]["B2"].value == "好的充电桩"
    assert "未知的星期“Xx”" in wb["survey-出入口"]["D2"].comment.text
    assert wb["survey-出入口"]["D2"].value == "Mo-Xx 25:00-99:00" and wb["survey-出入口"]["B3"].comment is None
    assert wb["facilities"]["B5"].value.startswith("'=HYPERLINK")  # neutralised: nothing runs in Excel/WPS
    sheet = wb["问题清单"]
    header = [c.value for c in sheet[1]]
    assert header[:7] == ["严重程度", "文件", "工作表", "行", "列", "值", "问题"]
    rows = {(r[1], r[2], r[3], r[4]) for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == "错误"}
    assert {
        ("facilities.csv", "facilities", 3, "经度"),
        ("survey.xlsx", "出入口", 2, "时段"),
        ("survey.xlsx", "单元", 3, "楼号"),
    } <= rows
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".findings")]  # written atomically

    en = tmp_path / "findings-en.xlsx"
    assert _run(SAMPLE_BASE, csv_path, xlsx_path, "--format", "xlsx", "-o", en, "--lang", "en").exit_code == 1
    wb = openpyxl.load_workbook(en)
    assert wb.sheetnames[0] == "Findings" and "is not a number" in wb["facilities"]["C3"].comment.text


def test_xlsx_format_needs_output():
    result = _run(SAMPLE_BASE, "--format", "xlsx")
    assert result.exit_code == 2 and "-o" in result.output


# --- bounded memory ------------------------------------------------------------------------


def _hostile_xlsx(path, *, far_cell: bool) -> None:
    """A small workbook whose sheet declares A1:XFD1048576 (and holds a cell at XFD1048576)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "units"
    ws.append(["小区", "楼号", "单元号", "经度", "纬度"])
    ws.append(["锦华苑", "1", "1", *DOOR_B1])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', data.decode())
                assert 'ref="A1:XFD1048576"' in text
                if far_cell:
                    text = text.replace(
                        "</sheetData>",
                        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
                    )
                data = text.encode()
            out.writestr(item, data)


_MEASURE = """
import resource, subprocess, sys
run = subprocess.run(
    [sys.executable, "-c", "import cli; cli.main()", *sys.argv[1:]], capture_output=True, text=True, timeout=240
)
print(run.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(run.stdout, end="")
print(run.stderr, end="", file=sys.stderr)
"""


def _peak_rss_mb(*args) -> tuple[int, float, str]:
    """Exit code, peak RSS (MB) and output of ``ridermap validate ARGS`` in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, "validate", *map(str, args), "--no-routes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    first, _, rest = proc.stdout.partition("\n")
    code, rss_kb = (int(x) for x in first.split())
    return code, rss_kb / 1024, rest + proc.stderr


def test_hostile_xlsx_memory_is_bounded(tmp_path):
    normal = tmp_path / "normal.xlsx"
    _hostile_xlsx(tmp_path / "tmp.xlsx", far_cell=False)
    wb = openpyxl.Workbook()
    wb.active.title = "units"
    wb.active.append(["小区", "楼号", "单元号", "经度", "纬度"])
    wb.active.append(["锦华苑", "1", "1", *DOOR_B1])
    wb.save(normal)
    hostile = tmp_path / "hostile.xlsx"
    _hostile_xlsx(hostile, far_cell=True)
    assert hostile.stat().st_size < 9000
    base_code, base_mb, _ = _peak_rss_mb(SAMPLE_BASE, normal)
    code, mb, output = _peak_rss_mb(SAMPLE_BASE, hostile)
    assert code == base_code and "Traceback" not in output and "MemoryError" not in output, output
    assert mb - base_mb < 50, (mb, base_mb)
    assert mb < 300 or base_mb > 250, (
        mb,
        base_mb,
    )  # on a machine where interpreter + imports alone near 300 MB, the delta rules
    lines = [ln for ln in output.splitlines() if "hostile.xlsx:units" in ln]
    assert len(lines) == 1 and "sheet_extent_ignored" in lines[0] and "XFD1048576" in lines[0], output
    assert "1048576" in lines[0]


def test_declared_dimension_alone_is_not_trusted(tmp_path):
    path = tmp_path / "units.xlsx"
    _hostile_xlsx(path, far_cell=False)
    from ridermap.ingest.survey import read_raw_sheets

    (sheet,) = read_raw_sheets(path)
    assert sheet.header == ["小区", "楼号", "单元号", "经度", "纬度"] and [r for r, _ in sheet.rows] == [2]
    assert [code for code, _, _ in sheet.notes] == ["sheet_extent_ignored"]


def test_csv_is_streamed_and_long_rows_are_findings(tmp_path, monkeypatch):
    import pandas as pd

    def no_pandas(*a, **k):  # the CSV reader must not parse the whole file with pandas
        raise AssertionError("pandas.read_csv used")

    monkeypatch.setattr(pd, "read_csv", no_pandas)
    path = tmp_path / "facilities.csv"
    path.write_text(
        f"类型,名称,经度,纬度\n充电桩,a,b,{DOOR_B1[0]},{DOOR_B1[1]}\n充电桩,ok,{DOOR_B1[0]},{DOOR_B1[1]}\n",
        encoding="utf-8",
    )
    from ridermap.ingest.survey import read_survey

    tables = read_survey(path)
    assert list(tables["facilities"]["name"]) == ["ok"]
    (f,) = tables.findings
    assert f.code == "row_too_long" and f.source == "facilities.csv:facilities:2" and "引号" in f.message_zh


def test_absurdly_long_sheet_stops_with_one_finding(tmp_path, monkeypatch):
    from ridermap.ingest import survey

    monkeypatch.setattr(survey, "MAX_ROWS", 3)
    path = tmp_path / "facilities.csv"
    path.write_text(
        "类型,名称,经度,纬度\n" + "".join(f"充电桩,n{i},{DOOR_B1[0]},{DOOR_B1[1]}\n" for i in range(10)),
        encoding="utf-8",
    )
    tables = survey.read_survey(path)
    assert list(tables["facilities"]["name"]) == ["n0", "n1", "n2"]
    (f,) = tables.findings
    assert (
        f.code == "sheet_too_long"
        and f.severity == "error"
        and "row 5" in f.message_en
        and f.source == "facilities.csv:facilities"
    )
