"""English all the way: with ``language = "en"`` no Chinese character shows on a page except in names from data.

Names from data stay as written (锦华苑, a facility's name, a street); names
ridermap or a surveyor built from a side or a number (南门, 南侧出入口2, 3号门,
7号楼, 2单元) are English in English. The pages are read as a rider sees them:
the visible text in Chromium (``innerText``: hidden language spans do not
count), with the map labels drawn by ``site.js``.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import ROOT, SAMPLE_ID, shared_osm

from ridermap.publish.site import write_site
from ridermap.render.honest import english_name

#: CJK ideographs, CJK and full-width punctuation
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def data_names(bundle) -> list[str]:
    """Names that stay as in the data in English, longest first (stripped from page text before the check)."""
    names = set()
    names.update(bundle.communities["name"].astype(str))
    # an inferred compound name is English around the place it names (学院路旁小区 -> Compound by 学院路)
    names.update(re.sub(r"(内|旁)小区\d*$", "", n) for n in bundle.communities["name"].astype(str))
    names.update(bundle.facilities["name"].astype(str))
    names.update(bundle.paths["name"].astype(str))
    names.update(bundle.units["flats"].astype(str))
    for layer, column, kind in (
        (bundle.gates, "name", "gate"),
        (bundle.buildings, "label", "building"),
        (bundle.units, "label", "unit"),
    ):
        names.update(n for n in layer[column].astype(str) if english_name(n, kind) == n.strip())
    return sorted((n.strip() for n in names if n.strip()), key=len, reverse=True)


#: the language switch names the other language in its own script, as language switches do
ENDONYM = "中文"


def cjk_outside_names(text: str, names: list[str]) -> list[str]:
    for name in [*names, ENDONYM]:
        text = text.replace(name, " ")
    return sorted({m.group(0) for m in CJK.finditer(text)})


@pytest.mark.parametrize(
    ("name", "kind", "english"),
    [
        ("南门", "gate", "South gate"),
        ("东北侧出入口2", "gate", "North-east gate 2"),
        ("北大门", "gate", "North main gate"),
        ("3号门", "gate", "Gate 3"),
        ("7号楼", "building", "Building 7"),
        ("12栋", "building", "Building 12"),
        ("2单元", "unit", "Unit 2"),
        ("锦华苑东门", "gate", "锦华苑东门"),  # a name, not a side: stays
        ("家属27号楼", "building", "家属27号楼"),
    ],
)
def test_generated_names_in_english(name, kind, english):
    assert english_name(name, kind) == english


_PERCEIVED_ATTRIBUTES = """() => Array.from(document.querySelectorAll("[placeholder],[aria-label],[title]"))
    .filter((e) => { const l = e.closest("[lang]:not(html)"); return !l || l.lang === document.documentElement.lang; })
    .map((e) => ["placeholder", "aria-label", "title"].map((a) => e.getAttribute(a) || "").join("\\n")).join("\\n")"""


def _visible_texts(browser, site, rels, query: str = ""):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page = context.new_page()
    try:
        for rel in rels:
            page.goto((site / rel).as_uri() + query)
            page.wait_for_function("window.RM && window.RM.ready === true", timeout=20_000)
            # what a user perceives besides the text: placeholders, and names read out or shown on hover
            attrs = page.evaluate(_PERCEIVED_ATTRIBUTES)
            yield rel, page.title() + "\n" + page.locator("body").inner_text() + "\n" + attrs
    finally:
        context.close()


def _check_site(browser, site, bundle, *, title: str, limit: int | None = None, query: str = ""):
    names = sorted([*data_names(bundle), title], key=len, reverse=True)  # the project's name is data too
    rels = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert rels
    rels = rels if limit is None else rels[:limit]
    texts = _visible_texts(browser, site, rels, query)
    found = {rel: bad for rel, text in texts if (bad := cjk_outside_names(text, names))}
    assert found == {}


@pytest.mark.parametrize("switch", [False, True], ids=["config-en", "zh-site-switched-to-en"])
def test_sample_site_in_english_has_no_chinese_outside_names(tmp_path, browser, sample_bundle, sample_config, switch):
    site = tmp_path / "site"
    write_site(sample_bundle, site, config=dataclasses.replace(sample_config, language="zh" if switch else "en"))
    # the page's switch (?lang=en, as the EN button leaves it) shows the same English as a site built in English
    _check_site(browser, site, sample_bundle, title=sample_config.name, query="?lang=en" if switch else "")
    if switch:
        return
    unit = (site / f"u/{SAMPLE_ID}-b7-u2.html").read_text(encoding="utf-8")
    assert "Ride in through South gate" in unit and "During the hours of South gate, Daily" in unit


def test_xueyuanlu_site_in_english_has_no_chinese_outside_names(tmp_path, browser, sample_config):
    from ridermap.ingest import bundle_from_sources

    bundle = bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code="110108")
    site = tmp_path / "site"
    config = dataclasses.replace(sample_config, language="en", sources=())
    write_site(bundle, site, config=config)
    _check_site(browser, site, bundle, title=config.name, limit=60)


def test_gate_plates_in_english_name_generated_gates_in_english(sample_bundle, sample_config):
    from ridermap.render.doorplate.content import plates_for_community

    config = dataclasses.replace(sample_config, language="en")
    plates = plates_for_community(sample_bundle, SAMPLE_ID, config=config, kinds=("gate",))
    heads = sorted(p.headline for p in plates)
    assert heads == ["East gate", "North gate", "South gate"]
    assert all(not CJK.search(line) for p in plates for line in p.details), [p.details for p in plates]


def _pdf_text(path) -> str:
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_poster_and_plates_in_english_have_no_chinese_outside_names(tmp_path, sample_bundle, sample_config):
    from ridermap.publish.posters import save_poster
    from ridermap.render.doorplate import plate_pdf, plates_for_community
    from ridermap.render.poster import render_poster

    config = dataclasses.replace(sample_config, language="en")
    names = data_names(sample_bundle)
    poster = render_poster(sample_bundle, SAMPLE_ID, gate=f"{SAMPLE_ID}-gn100001", config=config, paper="A3")
    text = _pdf_text(save_poster(poster, tmp_path / "poster.pdf"))
    assert "Building 7" in text and "South gate" in text
    assert cjk_outside_names(text, names) == []
    plates = plates_for_community(sample_bundle, SAMPLE_ID, config=config)
    unit = next(p for p in plates if p.plate_id == f"{SAMPLE_ID}-b7-u2")
    assert unit.address == "锦华苑 Building 7 Unit 2" and unit.headline == "Unit 2"
    assert [p.plate_id for p in plates if cjk_outside_names(p.visible_text(), names)] == []
    (tmp_path / "plate.pdf").write_bytes(plate_pdf(unit, size="small"))
    assert cjk_outside_names(_pdf_text(tmp_path / "plate.pdf"), names) == []


def _transliterated_sample(tmp_path, sample_config):
    """The sample with ``name:en`` on the compound (OSM) and the charger (OSM), and a survey row giving 南门's
    English name in a 英文名 column."""
    from ridermap.ingest import bundle_from_config

    osm = (ROOT / "data" / "sample" / "base.osm").read_text(encoding="utf-8")
    osm = osm.replace('<tag k="name" v="锦华苑"/>', '<tag k="name" v="锦华苑"/><tag k="name:en" v="Jinhua Garden"/>', 1)
    osm = osm.replace(
        '<tag k="name" v="南门充电桩"/>',
        '<tag k="name" v="南门充电桩"/><tag k="name:zh-Latn-pinyin" v="Nanmen Chongdianzhuang"/>',
    )
    (tmp_path / "base.osm").write_text(osm, encoding="utf-8")
    (tmp_path / "gates.csv").write_text("小区,名称,英文名\n锦华苑,南门,Nanmen (Huaxing St)\n", encoding="utf-8-sig")
    base, survey = sample_config.sources[:2]
    sources = (
        dataclasses.replace(base, path=str(tmp_path / "base.osm")),
        survey,
        dataclasses.replace(base, path=str(tmp_path / "gates.csv")),
    )
    return bundle_from_config(dataclasses.replace(sample_config, sources=sources))


def test_transliterations_from_osm_and_survey_show_in_english(tmp_path, browser, sample_config):
    """``name:en`` / ``name:zh-Latn-pinyin`` on OSM and a survey's 英文名 column are what English outputs show;
    Chinese outputs keep the names as written."""
    from ridermap.publish.posters import save_poster
    from ridermap.render.doorplate import plates_for_community
    from ridermap.render.poster import render_poster

    bundle = _transliterated_sample(tmp_path, sample_config)
    comm = bundle.communities.iloc[0]
    assert comm["name"] == "锦华苑" and comm["name_en"] == "Jinhua Garden"
    gate = bundle.gates[bundle.gates["name"] == "南门"].iloc[0]
    assert gate["name_en"] == "Nanmen (Huaxing St)"
    config = dataclasses.replace(sample_config, language="en")
    site = tmp_path / "site"
    write_site(bundle, site, config=config)
    texts = dict(_visible_texts(browser, site, [f"c/{SAMPLE_ID}.html", f"u/{SAMPLE_ID}-b1-u1.html"]))
    page = texts[f"c/{SAMPLE_ID}.html"]
    assert "Jinhua Garden" in page and "Nanmen (Huaxing St)" in page and "锦华苑" not in page
    assert "Nanmen Chongdianzhuang" in texts[f"u/{SAMPLE_ID}-b1-u1.html"]
    poster = render_poster(bundle, SAMPLE_ID, gate=str(gate["id"]), config=config, paper="A3")
    text = _pdf_text(save_poster(poster, tmp_path / "poster.pdf"))
    assert "Jinhua Garden" in text and "Nanmen (Huaxing St)" in text
    plates = plates_for_community(bundle, SAMPLE_ID, config=config)
    assert all(p.address.startswith("Jinhua Garden") for p in plates if p.plate_id.endswith("-u1"))
    # Chinese pages keep the names as in the data
    write_site(bundle, tmp_path / "zh", config=sample_config)
    zh = (tmp_path / "zh" / "c" / f"{SAMPLE_ID}.html").read_text(encoding="utf-8")
    assert '<h1><span lang="zh-CN">锦华苑</span>' in zh
