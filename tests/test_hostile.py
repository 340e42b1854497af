"""Hostile names in every layer: nothing runs, no formula cell, no forged report line, no font error.

One full ``build`` of the sample whose compound, gate, building label, unit
label and facility names carry script payloads, spreadsheet formulas, emoji
and a bidi override. Then: every HTML output (rider site and gap map) is
loaded in headless Chromium and every tooltip and popup of every map is
opened; every CSV cell is read back with the csv module. The browser part
skips when Debian's chromium is absent.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

import pytest
from conftest import SAMPLE_ID

from ridermap.publish.build import build
from ridermap.publish.doorplates import VerificationReport
from ridermap.safe_text import csv_cell, csv_frame, html_text, text_line

IMG = "<img src=x onerror=__pwned=1>"
SCRIPT = "<script>__pwned=2</script>"
TEMPLATE = "`${__pwned=3}`\\u"  # breaks out of a JS template literal if unescaped
SVG = "<svg onload=alert(4)>"
JINJA = "{{'zq'~'jv'}}"  # Jinja syntax: "zqjv" if a template engine evaluated it on the build machine

# short enough to fit a small doorplate (fitting long names is not what this file tests)
COMPOUND = '=HYPERLINK("x","锦")' + IMG + "😀\u202e"
GATE = "+cmd|'!A0" + SCRIPT + "🚪"
BUILDING = "@SUM(1)" + SVG + "\u202e12号楼🏠"
UNIT = "-2+3" + TEMPLATE + "\u202e"
STATION = "\t=1+1" + IMG + JINJA + "⚡"
CHARGER = "\r@x" + TEMPLATE + SCRIPT

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")


@pytest.fixture(scope="module")
def hostile_bundle(sample_bundle):
    b = sample_bundle
    comms = b.communities.assign(name=COMPOUND)
    gates = b.gates.copy()
    gates.loc[gates["name"] == "北门", "name"] = GATE
    buildings = b.buildings.copy()
    buildings.loc[buildings["number"] == "12", "label"] = BUILDING
    units = b.units.copy()
    units.loc[units["id"] == f"{SAMPLE_ID}-b12-u1", "label"] = UNIT
    fac = b.facilities.copy()
    fac.loc[fac["kind"] == "rider_station", "name"] = STATION
    fac.loc[fac["kind"] == "charger", "name"] = CHARGER
    return b.replace(communities=comms, gates=gates, buildings=buildings, units=units, facilities=fac)


@pytest.fixture(scope="module")
def out(tmp_path_factory, hostile_bundle, sample_config) -> Path:
    """Every output of a build with hostile names (posters and plates included: emoji and bidi must not stop it)."""
    outdir = tmp_path_factory.mktemp("hostile") / "out"
    config = dataclasses.replace(sample_config, workers=1)
    report = build(hostile_bundle, outdir, config=config)
    assert report.files
    return outdir


# --- the helpers ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-", "'-"),
        ("锦华苑", "锦华苑"),
        ("a=b", "a=b"),
        ("", ""),
        ("-3.5", "-3.5"),
        ("+7", "+7"),
        ("12", "12"),
        (-3.5, -3.5),
        (7, 7),
        (None, None),
    ],
)
def test_csv_cell(value, expected):
    assert csv_cell(value) == expected


def test_csv_frame_keeps_numbers_and_neutralises_text_and_headers():
    import pandas as pd

    frame = pd.DataFrame({"name": ["=cmd", "ok"], "d": [-1.5, 2.0], "=h": [True, False]})
    out = csv_frame(frame)
    assert out["name"].tolist() == ["'=cmd", "ok"]
    assert out["d"].tolist() == [-1.5, 2.0] and list(out.columns) == ["name", "d", "'=h"]
    assert frame["name"].tolist() == ["=cmd", "ok"]  # a copy


def test_html_text_is_inert_in_html_attributes_and_template_literals():
    assert html_text('<img src=x onerror="a()">') == "&lt;img src=x onerror=&quot;a()&quot;&gt;"
    assert html_text(TEMPLATE) == "&#96;&#36;{__pwned=3}&#96;&#92;u"


def test_text_line_cannot_forge_or_reorder_lines():
    assert text_line("锦华苑\nERROR forged\r\u202e\x1b[31m") == "锦华苑\\nERROR forged\\r\\u202e\\x1b[31m"
    assert text_line("锦华苑 7号楼") == "锦华苑 7号楼"


def test_verification_text_keeps_one_line_per_failure():
    report = VerificationReport(
        "plates.pdf",
        150,
        results=[
            {
                "plate_id": "x\nFAILED forged",
                "page": 1,
                "ok": False,
                "problem": "wrong text\u2028ok",
                "expected": "a\nb",
                "decoded": ["c\rd"],
            },
            {"plate_id": "y", "page": 1, "ok": True},
        ],
    )
    lines = report.text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("FAILED x\\nFAILED forged (page 1)")
    assert "seconds" not in report.as_dict()


# --- the build --------------------------------------------------------------------------------
def _csv_cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def test_no_csv_cell_starts_with_a_formula_character(out):
    files = sorted(out.rglob("*.csv"))
    names = {f.relative_to(out).as_posix() for f in files}
    assert {f"doorplates/{SAMPLE_ID}/index.csv", "gaps/units.csv", "gaps/summary.csv", "gaps/sites.csv"} <= names
    for path in files:
        for cell in _csv_cells(path):
            assert not (cell[:1] in _FORMULA and not _NUMBER.fullmatch(cell)), (path.name, cell)
    # the hostile text is still there, made inert
    summary = _csv_cells(out / "gaps" / "summary.csv")
    assert "'" + COMPOUND in summary
    index = _csv_cells(out / "doorplates" / SAMPLE_ID / "index.csv")
    assert any(c.startswith("'=HYPERLINK(") for c in index)  # addresses start with the compound name
    for start in ("'+cmd|", "'@SUM(1)", "'-2+3"):  # gate, building and unit headlines
        assert any(c.startswith(start) for c in index), start
    assert not list(out.rglob("*.xlsx"))  # no spreadsheet is written; if one ever is, test its cells here


def test_emoji_and_bidi_names_print_posters_and_plates(out, hostile_bundle):
    posters = {p.name for p in (out / "posters" / SAMPLE_ID).glob("*.pdf")}
    gates = set(hostile_bundle.gates.loc[hostile_bundle.gates["community_id"] == SAMPLE_ID, "id"])
    assert posters == {f"{SAMPLE_ID}-overview.pdf"} | {f"{g}.pdf" for g in gates}
    index = _csv_cells(out / "doorplates" / SAMPLE_ID / "index.csv")
    gate_row = next(c for c in index if c.startswith("'+cmd|"))
    assert gate_row.endswith("□") and "\u202e" not in "".join(index)  # emoji replaced, bidi dropped on the plates
    verification = (out / "doorplates" / SAMPLE_ID / "verification.txt").read_text(encoding="utf-8")
    assert verification.startswith("41/41 doorplates decoded correctly")
    assert (out / "gaps" / "pdf" / f"{SAMPLE_ID}.pdf").stat().st_size > 0


def test_html_files_hold_no_raw_payload(out):
    pages = sorted(out.rglob("*.html")) + sorted((out / "site" / "d").glob("*.js"))
    assert len(pages) >= 29
    for path in pages:
        text = path.read_text(encoding="utf-8")
        for payload in ("<img src=x", "<script>__pwned", "<svg onload"):  # backticks are plain text in HTML
            assert payload not in text, (path.name, payload)


def test_template_syntax_in_names_is_never_evaluated(out):
    """folium/branca rendered each map part a second time as a Jinja template: a name ran on the build machine."""
    texts = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".json", ".csv", ".txt", ".svg")]
    gap_map = (out / "gaps" / "gaps.html").read_text(encoding="utf-8")
    assert "zq" in gap_map  # the station's name is on the gap map (escaped), so the check below means something
    for path in texts:
        assert "zqjv" not in path.read_text(encoding="utf-8"), path


# --- in Chromium ------------------------------------------------------------------------------
_OPEN_EVERYTHING = """
async () => {
  const maps = [];
  for (const k of Object.keys(window)) {
    let v = null;
    try { v = window[k]; } catch (e) { continue; }
    if (window.L && v instanceof L.Map && maps.indexOf(v) < 0) { maps.push(v); }
  }
  const texts = [];
  let fired = 0;
  for (const map of maps) {
    const leaves = [];
    map.eachLayer(l => { if (!l._layers) { leaves.push(l); } });
    for (const l of leaves) {
      const ll = l.getLatLng ? l.getLatLng() : (l.getBounds ? l.getBounds().getCenter() : map.getCenter());
      l.fire("mouseover", {latlng: ll}, true);   // hover: tooltips
      l.fire("click", {latlng: ll}, true);       // tap: popups
      fired += 1;
      document.querySelectorAll(".leaflet-tooltip, .leaflet-popup-content").forEach(n => texts.push(n.innerText));
      l.fire("mouseout", {latlng: ll}, true);
      map.closePopup();
    }
  }
  await new Promise(r => setTimeout(r, 400));  // let any injected <img onerror> fire
  return {maps: maps.length, fired: fired, texts: texts, pwned: window.__pwned === undefined ? null : window.__pwned};
}
"""


def _open_all(browser, path: Path) -> tuple[dict, list[str], list[str]]:
    context = browser.new_context()
    dialogs: list[str] = []
    errors: list[str] = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort())
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        if "/site/" in path.as_posix():
            page.wait_for_function("window.RM && window.RM.ready === true", timeout=10_000)
        result = page.evaluate(_OPEN_EVERYTHING)
        result["body"] = page.locator("body").inner_text()
    finally:
        context.close()
    return result, dialogs, errors


def test_no_script_runs_on_any_html_output_with_every_tooltip_and_popup_open(out, browser):
    pages = sorted((out / "site").rglob("*.html")) + [out / "gaps" / "gaps.html"]
    assert len(pages) == 29
    for path in pages:
        result, dialogs, errors = _open_all(browser, path)
        where = path.relative_to(out).as_posix()
        assert result["maps"] == 1 and result["fired"] >= 8, where
        assert result["pwned"] is None and dialogs == [], (where, result["pwned"], dialogs)
        assert errors == [], (where, errors)
        if where == "gaps/gaps.html":
            shown = "\n".join(result["texts"])
            # the names are shown as text in tooltips (compound, facilities) and popups (unit doors)
            for name in (COMPOUND, STATION.strip(), CHARGER.strip(), UNIT):
                assert name.replace("\u202e", "") in shown.replace("\u202e", ""), name
        if where == f"site/c/{SAMPLE_ID}.html":
            shown = "\n".join(result["texts"]) + result["body"]
            for name in (GATE, BUILDING, UNIT, STATION.strip()):
                assert name.replace("\u202e", "") in shown.replace("\u202e", ""), name


def test_svg_outputs_have_no_script_or_handler(out):
    import xml.etree.ElementTree as ET

    svgs = sorted(out.rglob("*.svg"))
    assert svgs
    for path in svgs:
        for el in ET.parse(path).iter():
            assert not el.tag.endswith("script") and not el.tag.endswith("foreignObject"), path.name
            assert not [a for a in el.attrib if a.lower().startswith("on")], path.name
    titles = "".join(ET.parse(p).getroot().findtext("{http://www.w3.org/2000/svg}title") or "" for p in svgs)
    assert "<script>__pwned=2</script>" in titles  # the gate name, shown as text
