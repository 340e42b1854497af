"""The rider website: pages, escaping, weight, basemaps, CLI — and real Chromium.

Browser tests load the pages from ``file://`` in headless Chromium with every
non-local request blocked and counted. They skip when Debian's chromium is
absent (``.ci/run`` installs it).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CONFIG, SAMPLE_ID, shared_osm

from ridermap.analysis.context import Analysis
from ridermap.errors import ConfigError, RenderError
from ridermap.publish.site import write_community_site, write_site, write_site_index
from ridermap.render.site import data_path, render_community, render_index, site_assets

XSS = "<script>alert(1)</script>"
UNIT_72 = f"{SAMPLE_ID}-b7-u2"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def xss_bundle(sample_bundle):
    """The sample with a script tag in every kind of name pages show."""
    b = sample_bundle
    comms = b.communities.assign(name=XSS + "锦华苑")
    gates = b.gates.copy()
    gates.loc[gates["name"] == "北门", "name"] = "北门" + XSS
    buildings = b.buildings.copy()
    buildings.loc[buildings["number"] == "12", "label"] = "12号楼" + XSS
    units = b.units.copy()
    units.loc[units["id"] == f"{SAMPLE_ID}-b12-u1", "label"] = XSS
    fac = b.facilities.copy()
    fac.loc[fac["kind"] == "rider_station", "name"] = XSS
    return b.replace(communities=comms, gates=gates, buildings=buildings, units=units, facilities=fac)


@pytest.fixture(scope="module")
def xss_config(sample_config):
    return dataclasses.replace(sample_config, name=XSS + "示例")


@pytest.fixture(scope="module")
def site(tmp_path_factory, xss_bundle, xss_config) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    files = write_site(xss_bundle, out, config=xss_config)
    assert all(f.is_file() for f in files)
    return out


# --- pages as text -------------------------------------------------------------------
def test_site_layout_follows_the_url_scheme(site, xss_bundle):
    units = set(xss_bundle.units["id"])
    assert (site / "index.html").is_file()
    assert (site / f"c/{SAMPLE_ID}.html").is_file()
    assert {p.stem for p in (site / "u").glob("*.html")} == units
    assert (site / data_path(SAMPLE_ID)).is_file()
    for name in ("leaflet.js", "leaflet.css", "site.js", "site.css", "images/layers.png"):
        assert (site / "assets" / name).stat().st_size > 0, name


def test_names_are_escaped_in_every_file(site):
    pages = list(site.rglob("*.html")) + list((site / "d").glob("*.js"))
    assert len(pages) == 28 + 2  # 28 pages, the compound data, the search index
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert XSS not in text, path
        assert "<script>alert" not in text.replace("\\u003cscript", ""), path
    html = (site / f"c/{SAMPLE_ID}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;锦华苑" in html
    data = (site / data_path(SAMPLE_ID)).read_text(encoding="utf-8")
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in data


def test_leaflet_comes_from_the_installed_package_and_nothing_from_a_cdn(site):
    import js_lib_leaflet

    vendored = Path(js_lib_leaflet.__file__).parent / "static" / "js_lib_leaflet" / "leaflet.js"
    assert (site / "assets/leaflet.js").read_bytes() == vendored.read_bytes()
    for path in site.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for ref in re.findall(r'(?:src|href)="([^"]+)"', text):
            assert not re.match(r"^(https?:)?//", ref), (path.name, ref)
        for lib in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers", "cdn."):
            assert lib not in text.lower(), (path.name, lib)


def test_page_weight(site):
    units = list((site / "u").glob("*.html"))
    sizes = [p.stat().st_size for p in units]
    assert max(sizes) < 30 * 1024, max(sizes)
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    assert total < 2 * 1024 * 1024, total


def test_unit_page_text_gate_rule_distance_steps(site):
    html = (site / f"u/{UNIT_72}.html").read_text(encoding="utf-8")
    # two plans: inside 南门's hours ride in; other times park and walk
    assert html.count('class="rm-plan"') == 2
    assert "从南门骑行进入" in html and "Ride in through South gate" in html
    assert "停车步行进入" in html and "其他时段" in html
    assert re.search(r"约\d+米", html) and "到达7号楼2单元" in html
    assert "附近设施" in html and "充电桩" in html
    page = json.loads(re.search(r'<script type="application/json" id="rm-page">(.*?)</script>', html).group(1))
    assert page["unit"] == UNIT_72 and [p["when"] for p in page["plans"]] == ["in", "out"]
    assert page["plans"][0]["legs"][0]["m"] == "ride"


def test_render_community_needs_one_compound(sample_bundle, sample_config):
    from ridermap.model.bundle import concat_bundles

    two = concat_bundles([sample_bundle, sample_bundle])
    with pytest.raises(RenderError, match="one compound"):
        render_community(two, config=sample_config)


def test_render_community_never_builds_a_network(sample_bundle, sample_config):
    with pytest.raises(RenderError, match="needs the routes"):
        render_community(sample_bundle.community(SAMPLE_ID), config=sample_config)


@pytest.mark.parametrize("basemap", ["amap", "tencent"])
def test_gcj02_basemaps_shift_overlays_and_add_tiles(sample_bundle, sample_config, basemap):
    from pyproj import Geod

    one = sample_bundle.community(SAMPLE_ID)
    plan = Analysis(sample_bundle).route_plan(one)  # the renderer never builds a network: it gets the routes
    plain = render_community(one, config=sample_config, plan=plan)
    shifted = render_community(one, config=sample_config, plan=plan, basemap=basemap)

    def first_unit(files):
        text = files[data_path(SAMPLE_ID)]
        return json.loads(text[len("window.RM_DATA=") : -2])["units"][0]["p"]

    (lat0, lon0), (lat1, lon1) = first_unit(plain), first_unit(shifted)
    _, _, offset_m = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)
    assert 100 < offset_m < 700  # GCJ-02 is some hundreds of metres off WGS84 in Chengdu
    page = shifted[f"c/{SAMPLE_ID}.html"]
    assert ("autonavi.com" if basemap == "amap" else "gtimg.com") in page
    assert "http" not in plain[f"c/{SAMPLE_ID}.html"].split("<footer")[0].split("</head>")[1]


def test_osm_and_tianditu_basemaps(sample_bundle, sample_config):
    one = sample_bundle.community(SAMPLE_ID)
    analysis = Analysis(sample_bundle)
    osm = render_community(one, config=sample_config, basemap="osm", analysis=analysis)
    assert "tile.openstreetmap.org" in osm[f"c/{SAMPLE_ID}.html"]
    plain = render_community(one, config=sample_config, analysis=analysis)
    assert osm[data_path(SAMPLE_ID)] == plain[data_path(SAMPLE_ID)]  # no shift
    with pytest.raises(ConfigError, match="Tianditu key"):
        render_index(sample_bundle, config=sample_config, basemap="tianditu")
    page = render_index(sample_bundle, config=sample_config, basemap="tianditu", tianditu_key="k123")
    assert "tianditu.gov.cn" in page and "tk=k123" in page
    with pytest.raises(ConfigError, match="unknown basemap"):
        render_index(sample_bundle, config=sample_config, basemap="bing")


def test_lookups_kept_on_a_view_never_reach_a_changed_copy(sample_bundle, sample_config):
    """Titles, gate names and facility rows are computed once per compound view: a copy with other data gets its own."""
    one = sample_bundle.community(SAMPLE_ID)
    plan = Analysis(sample_bundle).route_plan(one)
    before = render_community(one, config=sample_config, plan=plan)
    units = one.units.copy()
    units.loc[units["id"] == UNIT_72, "label"] = "东侧入口"
    gates = one.gates.copy()
    gates.loc[gates["name"] == "南门", "name"] = "南大门"
    fac = one.facilities.copy()
    fac.loc[fac["kind"] == "charger", "name"] = "新充电桩"
    changed = render_community(one.replace(units=units, gates=gates, facilities=fac), config=sample_config, plan=plan)
    page, old_page = changed[f"u/{UNIT_72}.html"], before[f"u/{UNIT_72}.html"]
    assert "7号楼东侧入口" in page and "7号楼东侧入口" not in old_page
    assert "从南大门骑行进入" in page and "从南门骑行进入" in old_page
    assert "新充电桩" in page and "新充电桩" not in old_page
    assert render_community(one, config=sample_config, plan=plan) == before  # the first view's pages as they were
    # every unit page of the compound shows the same map (stable ids): one block of script for all of them
    maps = {
        re.search(r"<script>\n(var map_m0 = L\.map\(.*?)</script>", t, re.S).group(1)
        for p, t in before.items()
        if p.startswith("u/")
    }
    assert len(maps) == 1


def test_rows_are_the_itertuples_of_the_columns_asked_for(sample_bundle):
    from ridermap.render.site_data import rows

    gates = sample_bundle.gates
    got = list(rows(gates, "id", "name", "geometry"))
    want = list(gates[["id", "name", "geometry"]].itertuples(index=False))
    assert got == [tuple(w) for w in want] and len(got) == len(gates) > 0
    assert [r.name for r in got] == list(gates["name"]) and got[0].geometry.equals(gates.geometry.iloc[0])


def test_english_default_language(sample_bundle, sample_config):
    page = render_index(sample_bundle, config=dataclasses.replace(sample_config, language="en"))
    assert '<html lang="en" data-lang="en">' in page


def test_assets_are_rendered_with_the_schema_labels():
    assets = site_assets()
    js = assets["assets/site.js"]
    labels = json.loads(re.search(r"var LABELS = (\{.*?\});\n", js).group(1))
    assert labels["kinds"]["rider_station"] == {"zh": "骑手驿站", "en": "Rider station"}
    assert labels["access"]["walk"]["en"] == "Park and walk in"
    assert all(isinstance(v, str) or v.is_file() for v in assets.values())


# --- publish / CLI / build ---------------------------------------------------------------
def test_per_compound_writers_for_build(tmp_path, sample_bundle, sample_config):
    one = sample_bundle.community(SAMPLE_ID)
    files = write_community_site(one, tmp_path, config=sample_config)
    assert tmp_path / f"c/{SAMPLE_ID}.html" in files and len(files) == 1 + 1 + 26
    files = write_site_index(sample_bundle, tmp_path, config=sample_config)
    assert files == [tmp_path / "index.html", tmp_path / "d" / "search.js"]


def test_build_writes_the_site(tmp_path, sample_bundle, sample_config):
    from ridermap.publish.build import build

    config = dataclasses.replace(sample_config, outputs=("site",), workers=1)
    report = build(sample_bundle, tmp_path, config=config)
    assert (tmp_path / "site/index.html").is_file()
    assert (tmp_path / f"site/u/{UNIT_72}.html").is_file()
    assert (tmp_path / "site/assets/leaflet.js").is_file()
    assert tmp_path / "site/index.html" in report.files


def test_cli_site(tmp_path):
    import cli

    out = tmp_path / "site"
    result = CliRunner().invoke(cli.main, ["site", "--config", str(SAMPLE_CONFIG), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "28 pages" in result.output
    assert (out / "index.html").is_file() and (out / f"u/{UNIT_72}.html").is_file()
    bad = CliRunner().invoke(
        cli.main,
        ["site", "--config", str(SAMPLE_CONFIG), "-o", str(tmp_path / "x"), "--basemap", "tianditu"],
        env={"TIANDITU_KEY": ""},
    )
    assert bad.exit_code == 2 and "Tianditu key" in bad.output
    assert not (tmp_path / "x").exists()


# --- in Chromium ---------------------------------------------------------------------------


class Tab:
    """A phone-sized page whose non-local requests are blocked and counted."""

    def __init__(self, browser, *, now: datetime | None = None):
        self.context = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            timezone_id="Asia/Shanghai",
        )
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        if now is not None:
            self.page.clock.set_fixed_time(now)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, site: Path, rel: str):
        self.page.goto((site / rel.split("#")[0]).as_uri() + ("#" + rel.split("#")[1] if "#" in rel else ""))
        self.page.wait_for_function("window.RM && window.RM.ready === true", timeout=10_000)
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser):
    t = Tab(browser)
    yield t
    t.close()


def test_pages_load_nothing_from_the_network(site, tab):
    for rel in ("index.html", f"c/{SAMPLE_ID}.html", f"u/{UNIT_72}.html"):
        tab.open(site, rel)
    assert tab.blocked == []
    assert tab.errors == []


def test_compound_page_draws_buildings_and_markers(site, tab, xss_bundle):
    page = tab.open(site, f"c/{SAMPLE_ID}.html")
    one = xss_bundle.community(SAMPLE_ID)
    assert page.locator("path.rm-building").count() == len(one.buildings) == 12
    assert page.locator(".rm-k-unit").count() == len(one.units)  # unit doors: markers placed by site.js
    assert page.locator(".rm-gate").count() == len(one.gates) == 3
    assert page.locator(".rm-fac").count() == len(one.facilities)
    assert page.locator("path.rm-path-ride").count() == 1 and page.locator("path.rm-path-walk").count() == 1
    assert page.locator(".rm-blabel").all_inner_texts()[:3] == ["1", "2", "3"]
    # every building is inside the first view
    box = page.locator(".rm-map").bounding_box()
    for b in page.locator("path.rm-building").all():
        bb = b.bounding_box()
        assert box["x"] <= bb["x"] and bb["x"] + bb["width"] <= box["x"] + box["width"] + 1
    # the rule of the gate with hours, now
    assert page.locator(f"#gate-{SAMPLE_ID}-gn100001 .rm-now").is_visible()
    assert tab.errors == []


@pytest.mark.parametrize(("hour", "entry"), [(10, "ride"), (12, "walk")])
def test_unit_deep_link_focuses_the_unit_and_draws_the_route_for_now(site, browser, hour, entry):
    # 南门: riders ride in 00:00-11:00, 13:30-17:00, 19:30-24:00; at noon they park and walk
    t = Tab(browser, now=datetime(2026, 11, 23, hour, 0, tzinfo=SHANGHAI))
    try:
        page = t.open(site, f"u/{UNIT_72}.html")
        assert page.locator("path.rm-route").count() >= 1
        assert page.locator(".rm-udot.rm-target").count() == 1
        assert page.locator(".rm-ulabel-target").inner_text() == "7号楼2单元"
        assert page.locator("path.rm-building.rm-focus").count() == 1
        inside = page.evaluate("""() => {
            const m = RM.map, u = RM.index['u:' + RM.page.unit].marker.getLatLng();
            return [m.getBounds().contains(u), m.getZoom()];
        }""")
        assert inside[0] and inside[1] >= 17
        current = page.locator("details.rm-plan.rm-current")
        assert current.count() == 1 and current.get_attribute("open") is not None
        assert current.locator(f".rm-access.rm-{entry}").count() == 1
        assert current.locator(".rm-nowtag").is_visible()
        ride_lines = page.locator("path.rm-route-ride").count()
        assert (ride_lines > 0) == (entry == "ride")
        # the plan in force is the one above the map
        assert page.locator("#rm-plans details.rm-current").count() == 1
        assert t.blocked == [] and t.errors == []
    finally:
        t.close()


@pytest.mark.parametrize("query", ["7-2", "7号楼2单元", "七号楼二单元", "7栋2单元", " 7－2 "])
def test_search_finds_the_unit(site, tab, query):
    page = tab.open(site, f"c/{SAMPLE_ID}.html")
    page.fill("#rm-q", query)
    first = page.locator("#rm-results li a").first
    assert first.get_attribute("href") == f"../u/{UNIT_72}.html"
    assert "7号楼2单元" in first.inner_text()


def test_search_enter_and_hash_focus_on_the_map(site, tab):
    page = tab.open(site, f"c/{SAMPLE_ID}.html")
    page.fill("#rm-q", "7-2")
    page.press("#rm-q", "Enter")  # a unit: Enter opens its page (issue 12), the map link shows it on the map
    page.wait_for_url(f"**/u/{UNIT_72}.html")
    page = tab.open(site, f"c/{SAMPLE_ID}.html#u={UNIT_72}")
    assert page.locator(".leaflet-popup-content").inner_text().startswith("7号楼2单元")
    assert page.evaluate("RM.focused") == f"u:{UNIT_72}"
    page.fill("#rm-q", "7")
    hits = page.locator("#rm-results li a:not(.rm-onmap)").all_inner_texts()
    assert hits[0] == "7号楼" and "7号楼1单元" in hits and "17号楼" not in hits
    page.evaluate(f"location.hash = '#b={SAMPLE_ID}-b5'")
    page.wait_for_function(f"RM.focused === 'b:{SAMPLE_ID}-b5'")
    assert page.locator("path.rm-building.rm-focus").count() == 1
    page.evaluate(f"location.hash = '#g={SAMPLE_ID}-gn100002'")
    page.wait_for_function(f"RM.focused === 'g:{SAMPLE_ID}-gn100002'")
    assert "东门" in page.locator(".leaflet-popup-content").inner_text()


def test_gate_deep_link_from_a_poster(site, tab):
    page = tab.open(site, f"c/{SAMPLE_ID}.html#g={SAMPLE_ID}-gn100001")
    assert page.evaluate("RM.focused") == f"g:{SAMPLE_ID}-gn100001"
    assert "南门" in page.locator(".leaflet-popup-content").inner_text()


def test_script_names_show_as_text_on_every_page(site, tab):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) == 28
    for rel in pages:
        page = tab.open(site, rel)
        assert XSS in page.locator("body").inner_text(), rel
    # names drawn on the map and in popups are text too
    page = tab.open(site, f"c/{SAMPLE_ID}.html")
    assert page.locator(".rm-gate", has_text=XSS).count() == 1
    page.evaluate(f"RM.focus('b', '{SAMPLE_ID}-b12')")
    assert XSS in page.locator(".leaflet-popup-content").inner_text()
    assert tab.dialogs == [] and tab.errors == []


def test_language_switch_and_index_search(site, tab):
    page = tab.open(site, f"u/{UNIT_72}.html")
    assert page.locator("h1").inner_text() == "7号楼2单元"
    page.click(".rm-lang")
    assert page.locator("h1").inner_text() == "Bldg 7, Unit 2"
    assert page.locator("details.rm-current ol li:visible").first.inner_text().startswith(("Ride in", "Park"))
    assert page.locator("details.rm-current ul.rm-why li:visible").first.inner_text().startswith("Via ")
    # Chromium hands localStorage writes to the browser process asynchronously: under load a page opened
    # in the same instant can still read the old value (a rider's next tap comes later than that)
    page.wait_for_timeout(500)
    page = tab.open(site, "index.html")  # the choice is remembered
    assert page.evaluate("document.documentElement.getAttribute('data-lang')") == "en"
    page.click(".rm-lang")
    page.fill("#rm-q", "锦华")
    assert page.locator("#rm-compounds li:visible").count() == 1
    page.fill("#rm-q", "不存在的小区")
    assert page.locator("#rm-compounds li:visible").count() == 0 and page.locator("#rm-none").is_visible()
    assert page.locator(".rm-compound").count() == 1 and page.locator(".rm-fac").count() >= 5
    assert tab.errors == []


def test_bupt_site_in_chromium(tmp_path, browser, sample_config):
    from ridermap.ingest import bundle_from_sources

    bundle = bundle_from_sources([shared_osm("beijing_bupt.osm")], admin_code="110108")
    files = write_site(bundle, tmp_path / "site", config=sample_config)
    units = [f for f in files if f.parent.name == "u"]
    assert len(units) == (bundle.units["community_id"] != "").sum()  # units of compounds
    t = Tab(browser)
    try:
        routed = 0
        for f in units:
            page = t.open(tmp_path / "site", f"u/{f.name}")
            has_route = page.locator("path.rm-route").count() > 0
            no_route = page.locator(".rm-noroute").count() == 1
            assert has_route != no_route, f.name
            routed += has_route
            assert f.stat().st_size < 30 * 1024
        assert routed >= 17  # every unit of compound way 1376112785
        assert t.blocked == [] and t.errors == []
    finally:
        t.close()


def test_one_search_for_the_whole_site_opens_the_right_page(tmp_path, sample_bundle, sample_config, browser):
    """From the index: "7-2", "7号楼2单元", an address open the unit; "七号楼" the building; "南门" the gate;
    Enter opens the first hit; works from file:// with the network cut (the index is a script)."""
    from ridermap.publish.site import write_site

    root = tmp_path / "site"
    write_site(sample_bundle, root, config=sample_config)
    assert (root / "d" / "search.js").read_text(encoding="utf-8").startswith("window.RM_SEARCH = [")
    context = browser.new_context(viewport={"width": 390, "height": 844}, offline=True)
    page = context.new_page()
    page.goto((root / "index.html").as_uri())
    unit = f"u/{SAMPLE_ID}-b7-u2.html"
    expected = {
        "7-2": unit,
        "7号楼2单元": unit,
        "锦华苑 7号楼 2单元": unit,
        "七号楼": f"c/{SAMPLE_ID}.html#b={SAMPLE_ID}-b7",
        "南门": f"c/{SAMPLE_ID}.html#g={SAMPLE_ID}-gn100001",
        "锦华苑": f"c/{SAMPLE_ID}.html",
    }
    for query, href in expected.items():
        assert page.evaluate("q => RM.siteSearch(q)[0]", query) == href, query
    page.fill("#rm-q", "7-2")
    assert page.inner_text("#rm-results li:first-child") == "锦华苑 7号楼 2单元"
    page.press("#rm-q", "Enter")
    page.wait_for_url("**/" + unit)
    assert "7号楼2单元" in page.title()
    # on a compound page, Enter on a unit opens the unit's page too (not only the map)
    page.goto((root / "c" / f"{SAMPLE_ID}.html").as_uri())
    page.fill("#rm-q", "7-2")
    page.press("#rm-q", "Enter")
    page.wait_for_url("**/" + unit)
    context.close()


def test_report_a_problem_link_from_the_configured_template(tmp_path, sample_bundle, sample_config):
    import dataclasses

    from ridermap.config import ConfigError, _feedback_url

    cfg = dataclasses.replace(
        sample_config, feedback_url="https://report.example.cn/new?unit={unit_id}&c={community_id}"
    )
    files = write_community_site(sample_bundle.community(SAMPLE_ID), tmp_path / "on", config=cfg)
    unit = (tmp_path / "on" / "u" / f"{SAMPLE_ID}-b7-u2.html").read_text(encoding="utf-8")
    assert f'href="https://report.example.cn/new?unit={SAMPLE_ID}-b7-u2&amp;c={SAMPLE_ID}"' in unit
    compound = (tmp_path / "on" / "c" / f"{SAMPLE_ID}.html").read_text(encoding="utf-8")
    assert f"unit={SAMPLE_ID}&amp;c={SAMPLE_ID}" in compound and "报告问题" in compound
    assert files
    # absent: no link anywhere
    write_community_site(sample_bundle.community(SAMPLE_ID), tmp_path / "off", config=sample_config)
    assert not any("rm-report" in p.read_text(encoding="utf-8") for p in (tmp_path / "off").rglob("*.html"))
    for bad in ("javascript:alert(1)//{unit_id}", "https://x.cn/?u={unit}", "https://x.cn/{unit_id"):
        with pytest.raises(ConfigError):
            _feedback_url(bad, "ridermap.toml")


def test_an_unnumbered_building_is_named_on_the_map_as_its_doorplate_names_it(sample_config):
    """A plate's QR code opens the compound page at its building: an unnumbered, unlabelled building there is
    called by the survey key its plate prints (未编号楼栋 B01), never left blank."""
    from ridermap.ingest import bundle_from_sources
    from ridermap.render.doorplate import plates_for_community
    from ridermap.render.site_data import community_data

    district = bundle_from_sources([shared_osm("beijing_xueyuanlu.osm")], admin_code="110108")
    checked = 0
    for cid in district.community_ids():
        view = district.community(cid)
        plates = {p.plate_id: p for p in plates_for_community(view, cid, config=sample_config)}
        for b in community_data(view)["buildings"]:
            if b["n"]:
                continue
            assert b["l"] and b["le"], b["id"]
            key = b.get("k")
            if key and b["id"] in plates:
                assert b["l"] == f"未编号楼栋 {key}" and b["le"] == f"Building (no number) {key}"
                assert key in plates[b["id"]].visible_text()
                checked += 1
    assert checked >= 5
