"""The rider site on a phone (issue 12): nothing on a map hides a rider's target, every tap target is
big enough, buttons and icon links have names, text is readable, and the page says so when
JavaScript is off.

Headless Chromium at 390x844 CSS px (Debian's, skipped when absent), on the sample and on the BUPT
OSM extract; one site build and one browser context per build (module-scoped fixtures).

What is measured, in the browser:

* marker and label boxes: ``getBoundingClientRect`` of every visible Leaflet marker icon
  (``.leaflet-marker-icon``: gates, unit doors, building numbers, facilities, clusters, the
  start mark, the destination label) inside the map; no two may overlap by more than 1 px;
* tap targets: every visible element the browser hit-tests (``pointer-events`` not ``none``)
  among ``a[href]``, ``button``, ``[role=button]``, ``input``, ``summary`` and interactive
  Leaflet markers; its hit area is its own box, or the ``<label>`` it sits in, and must be at
  least 44x44 CSS px. Areas drawn to scale (a building's or compound's outline) are not markers
  and are not counted: the building's tap target on a phone is its number and its list entry;
* contrast: every visible text's colour against its background, composited up the ancestors
  from the computed CSS colours (WCAG 2 relative luminance), at least 4.5:1.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import SAMPLE_ID

from ridermap.publish.site import write_site

UNIT_72 = f"u/{SAMPLE_ID}-b7-u2.html"
SHANGHAI = ZoneInfo("Asia/Shanghai")

#: the page's marker boxes that overlap (more than 1 px both ways) and its tap targets under 44 px
MEASURE = """() => {
  const shown = e => {
    const s = getComputedStyle(e), r = e.getBoundingClientRect();
    return s.display !== "none" && s.visibility === "visible" && r.width > 0 && r.height > 0;
  };
  const name = e => (e.getAttribute("class") || e.tagName) + " '" + (e.textContent || "").trim().slice(0, 16) + "'";
  const out = {overlaps: [], small: [], markers: 0, targets: 0};
  const map = document.querySelector(".rm-map");
  if (map) {
    const m = map.getBoundingClientRect();
    const boxes = [...map.querySelectorAll(".leaflet-marker-icon")].filter(shown)
      .map(e => ({e, r: e.getBoundingClientRect()}))
      .filter(b => b.r.right > m.left && b.r.left < m.right && b.r.bottom > m.top && b.r.top < m.bottom);
    out.markers = boxes.length;
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r, b = boxes[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) { out.overlaps.push(name(boxes[i].e) + " X " + name(boxes[j].e)); }
      }
    }
  }
  const sel = "a[href], button, [role=button], input, summary, .leaflet-marker-icon.leaflet-interactive";
  for (const e of document.querySelectorAll(sel)) {
    if (!shown(e) || getComputedStyle(e).pointerEvents === "none") { continue; }
    out.targets++;
    const r = (e.closest("label") || e).getBoundingClientRect();
    if (r.width < 44 - 0.01 || r.height < 44 - 0.01) {
      out.small.push(name(e) + " " + r.width.toFixed(1) + "x" + r.height.toFixed(1));
    }
  }
  return out;
}"""

#: visible texts whose contrast with their background is under 4.5:1
CONTRAST = """() => {
  const rgba = c => { const v = c.match(/[\\d.]+/g).map(Number); return [v[0], v[1], v[2], v.length > 3 ? v[3] : 1]; };
  const over = (top, bottom) => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (!a) { return [0, 0, 0, 0]; }
    return [0, 1, 2].map(i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a).concat([a]);
  };
  const background = e => {
    let c = [0, 0, 0, 0];
    for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
      c = over(c, rgba(getComputedStyle(n).backgroundColor));
      if (c[3] >= 0.999) { return c; }
    }
    return over(c, [255, 255, 255, 1]);
  };
  const lum = c => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const e = t.parentElement;
    if (!t.textContent.trim() || !e || ["SCRIPT", "STYLE", "NOSCRIPT"].includes(e.tagName)) { continue; }
    const s = getComputedStyle(e), r = e.getBoundingClientRect();
    if (s.visibility !== "visible" || !r.width || !r.height || e.closest(".rm-vh")) { continue; }
    if (!e.checkVisibility()) { continue; }
    const bg = background(e), fg = over(rgba(s.color), bg);
    const hi = Math.max(lum(fg), lum(bg)), lo = Math.min(lum(fg), lum(bg));
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) {
      const text = t.textContent.trim().slice(0, 20);
      bad.push(text + " " + s.color + " on " + bg.map(Math.round) + " " + ratio.toFixed(2));
    }
  }
  return bad;
}"""


def _build(bundle, config, folder):
    write_site(bundle, folder, config=config)
    return folder


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory, sample_bundle, sample_config):
    return _build(sample_bundle, sample_config, tmp_path_factory.mktemp("phone") / "sample")


@pytest.fixture(scope="module")
def bupt_site(tmp_path_factory, bupt_bundle, sample_config):
    return _build(bupt_bundle, sample_config, tmp_path_factory.mktemp("phone") / "bupt")


class Phone:
    """One browser context at 390x844 (touch, 2x), local files only; pages opened and checked in it."""

    def __init__(self, browser, *, now: datetime | None = None, javascript: bool = True):
        self.context = browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            timezone_id="Asia/Shanghai",
            java_script_enabled=javascript,
        )
        self.context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
        self.errors: list[str] = []
        self.now = now

    def open(self, site, rel: str, *, lang: str = "zh"):
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        if self.now is not None:
            page.clock.set_fixed_time(self.now)
        page.goto((site / rel).as_uri() + f"?lang={lang}")
        page.wait_for_function("window.RM && window.RM.ready === true", timeout=15_000)
        # no zoom under way (Leaflet's own flag): the boxes measured are the ones last placed
        page.wait_for_function("RM.placement.count > 0 && !RM.map._animatingZoom")
        return page

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def phone(browser):
    p = Phone(browser, now=datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
    yield p
    p.close()


def _zoom_in(page) -> None:
    """One zoom step, as the + button does, and the placement that follows it."""
    before = page.evaluate("RM.placement.count")
    page.evaluate("RM.map.zoomIn(1, {animate: false})")
    page.wait_for_function(f"RM.placement.count > {before}")


def _check(page, where: str) -> dict:
    found = page.evaluate(MEASURE)
    assert found["overlaps"] == [], f"{where}: overlapping marker/label boxes: {found['overlaps']}"
    assert found["small"] == [], f"{where}: tap targets under 44x44 px: {found['small']}"
    return found


def _pages(site) -> list[str]:
    compounds = sorted(p.relative_to(site).as_posix() for p in (site / "c").glob("*.html"))
    return ["index.html", *compounds]


def _check_page(phone, site, rel: str, lang: str) -> None:
    page = phone.open(site, rel, lang=lang)
    try:
        found = _check(page, f"{rel} ({lang}) after load")
        assert found["markers"] > 0 and found["targets"] > 5, (rel, found)
        _zoom_in(page)
        _check(page, f"{rel} ({lang}) after one zoom-in")
    finally:
        page.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sample_pages_no_overlap_and_big_tap_targets(sample_site, phone, lang):
    for rel in [*_pages(sample_site), UNIT_72]:
        _check_page(phone, sample_site, rel, lang)
    assert phone.errors == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_bupt_pages_no_overlap_and_big_tap_targets(bupt_site, phone, lang):
    pages = _pages(bupt_site)
    assert len(pages) == 3  # the index and both compounds
    units = sorted(p.name for p in (bupt_site / "u").glob("*.html"))
    for rel in [*pages, f"u/{units[0]}"]:
        _check_page(phone, bupt_site, rel, lang)
    assert phone.errors == []


def test_crowded_markers_are_placed_not_stacked(bupt_site, phone):
    """BUPT's larger compound has eight gates close together: all stay listed, the map shows what fits,
    most of them at or near their place (a leader line joins an offset label to its gate)."""
    page = phone.open(bupt_site, "c/110108-w1376112785.html")
    try:
        listed = page.locator(".rm-gates li[data-gate]").count()
        markers = page.locator(".rm-k-gate").count()
        shown = page.locator(".rm-k-gate:not(.rm-off)").count()
        assert listed == markers >= 8
        assert shown >= markers - 2, (shown, markers)
        assert page.locator("path.rm-leader").count() >= 1
        before = page.evaluate(MEASURE)
        count = page.evaluate("RM.placement.count")
        page.evaluate("RM.map.setZoom(RM.map.getMaxZoom(), {animate: false})")
        page.wait_for_function(f"RM.placement.count > {count}")
        after = page.evaluate(MEASURE)
        assert after["overlaps"] == [] and after["small"] == []
        assert before["markers"] > 10
    finally:
        page.close()


@pytest.mark.parametrize("hour", [10, 12])
def test_unit_page_start_mark_never_covers_the_gate_label(sample_site, browser, hour):
    """At 10:00 riders ride in by 南门 (▶), at 12:00 they park there and walk (P): both times the
    chosen gate's label is shown in full, at its gate, and the start mark sits beside it."""
    p = Phone(browser, now=datetime(2026, 11, 23, hour, 0, tzinfo=SHANGHAI))
    try:
        page = p.open(sample_site, UNIT_72)
        gate = page.locator(".rm-k-gate", has_text="南门")
        start = page.locator(".rm-k-start")
        assert start.count() == 1 and start.is_visible()
        assert gate.is_visible() and "rm-mini" not in gate.get_attribute("class")
        g, s = gate.bounding_box(), start.bounding_box()
        apart = g["x"] + g["width"] <= s["x"] + 1 or s["x"] + s["width"] <= g["x"] + 1
        apart = apart or g["y"] + g["height"] <= s["y"] + 1 or s["y"] + s["height"] <= g["y"] + 1
        assert apart, (g, s)
        assert start.inner_text() == ("▶" if hour == 10 else "P")
        # the gate's box is centred on the gate itself (it is placed before everything but the destination)
        centre = page.evaluate("""() => {
            const m = RM.map, gate = RM.index['g:' + RM.page.plans[RM.plan].gate].marker;
            const p = m.latLngToContainerPoint(gate.getLatLng()), r = gate.getElement().getBoundingClientRect();
            const o = m.getContainer().getBoundingClientRect();
            return [p.x + o.left - (r.left + r.width / 2), p.y + o.top - (r.top + r.height / 2)];
        }""")
        assert abs(centre[0]) <= 1 and abs(centre[1]) <= 1, centre
        # the destination's label is shown in full, next to (not on) its door
        target = page.locator(".rm-ulabel-target")
        assert target.is_visible() and target.inner_text() == "7号楼2单元"
        _check(page, f"unit page at {hour}:00")
        assert p.errors == []
    finally:
        p.close()


def test_facility_cluster_zooms_in_on_tap(sample_site, phone):
    """Four facilities outside 南门 share one badge with their count at the first view; a tap zooms in."""
    page = phone.open(sample_site, f"c/{SAMPLE_ID}.html")
    try:
        cluster = page.locator(".rm-k-cluster:not(.rm-off)")
        assert cluster.count() >= 1
        counts = [int(t) for t in cluster.all_inner_texts()]
        assert all(n >= 2 for n in counts)
        hidden = page.locator(".rm-k-fac.rm-off").count()
        assert hidden == sum(counts)  # the clustered ones, and only they, are off the map
        assert page.locator(".rm-facilities li").count() == page.locator(".rm-k-fac").count()  # all listed
        label = cluster.first.get_attribute("aria-label")
        assert label and f"{counts[0]}个设施" in label
        zoom = page.evaluate("RM.map.getZoom()")
        cluster.first.click()
        page.wait_for_function(f"RM.map.getZoom() > {zoom}")
        _check(page, "after a tap on the cluster")
        # where the map cannot zoom further, a tap lists the facilities instead
        page.evaluate(f"RM.map.setZoom({zoom}, {{animate: false}}); RM.map.setMaxZoom({zoom})")
        page.locator(".rm-k-cluster:not(.rm-off)").first.click()
        rows = page.locator(".leaflet-popup-content .rm-pop > div").all_inner_texts()
        assert len(rows) == counts[0] and any("充电桩" in r for r in rows), rows
    finally:
        page.close()


def test_leaflet_controls_popups_and_layer_list_are_finger_sized(sample_site, phone):
    page = phone.open(sample_site, f"c/{SAMPLE_ID}.html")
    try:
        page.press(".leaflet-control-layers-toggle", "Enter")  # opens the list (as a tap or hover does)
        page.wait_for_selector(".leaflet-control-layers-expanded")
        _check(page, "layer list open")
        page.evaluate(f"RM.focus('b', '{SAMPLE_ID}-b7')")  # a popup with links and a close button
        assert page.locator(".leaflet-popup-content a").count() >= 2
        _check(page, "building popup open")
        page.fill("#rm-q", "7")  # search results with their map links
        assert page.locator("#rm-results a").count() >= 4
        _check(page, "search results")
    finally:
        page.close()


def test_buttons_and_icon_links_have_names_in_both_languages(sample_site, phone):
    page = phone.open(sample_site, f"c/{SAMPLE_ID}.html")
    try:
        page.fill("#rm-q", "7-2")
        onmap = page.locator("#rm-results a.rm-onmap")
        assert onmap.count() >= 1
        assert "⌖" not in page.locator("#rm-results").inner_text()  # no glyph the fonts may lack
        assert onmap.first.locator("svg").count() == 1
        assert page.get_by_role("link", name="在地图上显示", exact=True).count() == onmap.count()
        assert page.get_by_role("button", name="放大地图", exact=True).count() == 1
        assert page.get_by_role("button", name="缩小地图", exact=True).count() == 1
        assert page.get_by_role("button", name="EN 切换到英文").count() == 1
        gate = page.get_by_role("button", name="南门", exact=True)
        assert gate.count() == 1 and "rm-k-gate" in gate.get_attribute("class")
        charger = page.locator(".rm-k-fac", has_text="充")
        assert charger.get_attribute("aria-label").startswith("充电桩")
        page.click(".rm-lang")
        assert page.get_by_role("link", name="Show on map", exact=True).count() == onmap.count()
        assert page.get_by_role("button", name="Zoom in", exact=True).count() == 1
        assert page.get_by_role("button", name="中文 switch to Chinese").count() == 1
        assert charger.get_attribute("aria-label").startswith("Charger")
        # the map's marker names switch too and every visible marker button has one
        names = page.evaluate("""() => [...document.querySelectorAll('.leaflet-marker-icon[role=button]')]
            .filter(e => getComputedStyle(e).visibility === 'visible')
            .map(e => e.getAttribute('aria-label') || e.textContent.trim())""")
        assert names and all(names), names
    finally:
        page.close()


@pytest.mark.parametrize("rel", ["index.html", f"c/{SAMPLE_ID}.html", UNIT_72])
def test_text_contrast_at_least_4_5(sample_site, phone, rel):
    page = phone.open(sample_site, rel)
    try:
        for lang in ("zh", "en"):
            assert page.evaluate(CONTRAST) == [], (rel, lang)
            page.click(".rm-lang")
    finally:
        page.close()


def test_contrast_check_catches_a_pale_badge(sample_site, phone):
    """The contrast measure itself: the old walk-in orange (#c76a00, 3.8:1) on a badge fails it."""
    page = phone.open(sample_site, f"c/{SAMPLE_ID}.html")
    try:
        page.add_style_tag(content=".rm-walk { background: #c76a00 !important; }")
        bad = page.evaluate(CONTRAST)
        assert bad and all("3.8" in b for b in bad), bad
    finally:
        page.close()


def test_noscript_note_when_javascript_is_off(sample_site, browser, tmp_path):
    p = Phone(browser, javascript=False)
    try:
        page = p.context.new_page()
        for rel in ("index.html", f"c/{SAMPLE_ID}.html", UNIT_72):
            page.goto((sample_site / rel).as_uri())
            note = page.locator(".rm-noscript")
            assert note.is_visible(), rel
            assert "需要 JavaScript" in note.inner_text()
        # the same page in English (the language a build is made in): the note in English
        english = sample_site / "index-en.html"
        html = (sample_site / "index.html").read_text(encoding="utf-8")
        english.write_text(html.replace('data-lang="zh"', 'data-lang="en"', 1), encoding="utf-8")
        page.goto(english.as_uri())
        assert page.locator(".rm-noscript").inner_text().startswith("The map and the search need JavaScript")
        english.unlink()
    finally:
        p.close()
    # with JavaScript the note is not shown
    page = Phone(browser)
    try:
        shown = page.open(sample_site, "index.html")
        assert shown.locator(".rm-noscript").count() == 0 or not shown.locator(".rm-noscript").is_visible()
    finally:
        page.close()


def test_gap_map_tap_targets(tmp_path, sample_bundle, sample_config, browser):
    """The planner's gap map on a phone: controls, legend and links at least 44 px; the doors and
    facilities it draws on a canvas answer a tap within 22 px of their centre."""
    from ridermap.publish.gaps import write_gaps

    write_gaps(sample_bundle, tmp_path / "gaps", config=sample_config, k=2, pdf=False)
    p = Phone(browser)
    try:
        page = p.context.new_page()
        page.goto((tmp_path / "gaps" / "gaps.html").as_uri())
        page.wait_for_function("document.querySelector('.leaflet-control-scale')")
        for state in ("legend folded", "legend open"):
            found = page.evaluate(MEASURE)
            assert found["small"] == [] and found["targets"] >= 4, (state, found)
            page.click("#rm-legend summary")
        reach = page.evaluate("""() => {
            const map = Object.values(window).find(v => v instanceof L.Map), out = [];
            map.eachLayer(l => {
                if (!(l instanceof L.CircleMarker) || !l._point) { return; }
                const p = l._point;
                out.push([[22, 0], [-22, 0], [0, 22], [0, -22], [15, 15]].every(d => l._containsPoint(p.add(d))));
            });
            return out;
        }""")
        assert len(reach) >= len(sample_bundle.units) and all(reach)
    finally:
        p.close()
