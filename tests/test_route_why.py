"""Routes that explain themselves: minutes, why this gate, the runner-up, costs from ``[routing]``.

On the sample at 12:00 南门 (rides in 00:00–11:00, 13:30–17:00, 19:30–24:00)
is walk-in only; unit 7-2 is then reached by parking at 东门's rider parking
(30 s counted) and walking 184 m, or by parking at 南门 (90 s counted) and
walking 113 m. The tests check that the page says so, with minutes, and that
changing the costs in the config changes the minutes and the choice.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import SAMPLE_ID

from ridermap.analysis.context import Analysis
from ridermap.analysis.routing import round_min
from ridermap.config import RouteCosts, load_config
from ridermap.errors import ConfigError
from ridermap.publish.site import write_site
from ridermap.render.site_data import unit_data

UNIT_72 = f"{SAMPLE_ID}-b7-u2"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _plans(bundle, config):
    one = bundle.community(SAMPLE_ID)
    plan = Analysis(bundle).route_plan(one, **config.routing.options())
    return plan, unit_data(one, plan, UNIT_72)["plans"]


# --- config ---------------------------------------------------------------------------------
def test_routing_section_is_read_and_checked(tmp_path):
    path = tmp_path / "ridermap.toml"
    path.write_text("[routing]\nwalk_speed_mps = 1.4\ngate_park_s = 0\nalternative_pct = 35\n", encoding="utf-8")
    costs = load_config(path).routing
    assert costs == RouteCosts(walk_speed_mps=1.4, gate_park_s=0.0, alternative_pct=35.0)
    assert load_config(None).routing == RouteCosts(4.2, 1.2, 30.0, 90.0, 40.0, 20.0)  # the documented defaults
    for bad, message in (
        ("walk_speed_mps = 0", "routing.walk_speed_mps must be a positive number"),
        ("park_s = -1", "routing.park_s must be a number >= 0"),
        ('ride_speed_mps = "fast"', "routing.ride_speed_mps"),
        ("ride_speed_mps = nan", "routing.ride_speed_mps"),
        ("gate_penalty_s = 5", "unknown \\[routing\\] keys \\['gate_penalty_s'\\]"),
    ):
        path.write_text(f"[routing]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_config(path)


def test_round_min_rounds_up():
    assert [round_min(s) for s in (0, 1, 59, 60, 61, 153.4)] == [0, 1, 1, 1, 2, 3]


# --- the plans' data ------------------------------------------------------------------------
def test_noon_plan_explains_the_gate_with_minutes_and_the_alternative(sample_bundle, sample_config):
    plan, (inside, outside) = _plans(sample_bundle, sample_config)
    assert inside["when"] == "in" and outside["when"] == "out"
    # in 南门's hours: ride in through 南门; 东门 is walk-in only
    assert inside["why"]["zh"][0].startswith("走南门：骑行进入，约113米")
    assert inside["why"]["zh"][1] == "东门：只能停车步行"
    assert inside["why"]["en"][1] == "East gate: walk-in only"
    # at noon: 东门's rider parking and 184 m on foot; 南门 within 20 %, with its own metres and minutes
    route = plan.off_hours[UNIT_72]
    assert route.gate_id.endswith("gn100002") and route.parking_id  # 东门, its rider parking
    assert outside["min"] == round_min(184 / 1.2) == 3
    assert outside["why"]["zh"] == [
        "走东门：停车步行，约184米，约3分钟",
        "也可走南门：停车步行，约113米，约2分钟（在门口停车，多计60秒）",
    ]
    assert outside["alt"] == {"gate": f"{SAMPLE_ID}-gn100001", "entry": "walk", "m": 113, "min": 2}
    assert (
        outside["why"]["en"][1]
        == "Or via South gate: park and walk, about 113 m, about 2 min (parking at the gate, 60 s more counted)"
    )


def test_costs_come_from_the_config(sample_bundle, sample_config):
    # no time counted for parking at a gate: at noon 南门 (113 m) beats 东门 (184 m), which is now "farther"
    free = dataclasses.replace(sample_config, routing=RouteCosts(gate_park_s=0.0))
    plan, (_, noon) = _plans(sample_bundle, free)
    assert plan.off_hours[UNIT_72].gate_id.endswith("gn100001")
    assert noon["why"]["zh"][0] == "走南门：停车步行，约113米，约2分钟"
    assert re.fullmatch(r"东门：停车步行，但远\d+米", noon["why"]["zh"][1])
    # walking at half the speed: the 60 s parking difference weighs less than 71 m more on foot, so 南门;
    # its minutes at 0.6 m/s
    slow = dataclasses.replace(sample_config, routing=RouteCosts(walk_speed_mps=0.6))
    plan, (_, noon) = _plans(sample_bundle, slow)
    assert plan.off_hours[UNIT_72].gate_id.endswith("gn100001")
    assert noon["min"] == round_min(113 / 0.6) == 4
    # an alternative is shown only within alternative_pct of the best
    strict = dataclasses.replace(sample_config, routing=RouteCosts(alternative_pct=0.0))
    _, (_, noon) = _plans(sample_bundle, strict)
    assert noon["alt"] is None and noon["why"]["zh"][1] == "南门：停车步行，但在门口停车，多计60秒"


# --- in Chromium, at 12:00, 390 × 844 ----------------------------------------------------------
def _noon_page(browser, site, *, lang: str = "zh"):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, timezone_id="Asia/Shanghai"
    )
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    page = context.new_page()
    page.clock.set_fixed_time(datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI))
    page.goto((site / f"u/{UNIT_72}.html").as_uri() + f"?lang={lang}")
    page.wait_for_function("window.RM && window.RM.ready === true", timeout=10_000)
    return context, page


@pytest.mark.parametrize(
    ("routing", "first", "second"),
    [
        (RouteCosts(), "走东门：停车步行，约184米，约3分钟", "也可走南门：停车步行，约113米，约2分钟"),
        (RouteCosts(gate_park_s=0.0), "走南门：停车步行，约113米，约2分钟", "东门：停车步行，但远"),
    ],
)
def test_page_at_noon_explains_the_choice(tmp_path, browser, sample_bundle, sample_config, routing, first, second):
    site = tmp_path / "site"
    write_site(sample_bundle, site, config=dataclasses.replace(sample_config, routing=routing))
    context, page = _noon_page(browser, site)
    try:
        current = page.locator("#rm-plans details.rm-current")
        assert current.count() == 1 and current.locator(".rm-nowtag").is_visible()
        lines = current.locator("ul.rm-why:visible li").all_inner_texts()
        assert lines[0] == first and lines[1].startswith(second), lines
        assert re.search(r"约\d+分钟", current.locator("summary").inner_text())
        page.screenshot(path=str(tmp_path / "noon.png"))
    finally:
        context.close()
    context, page = _noon_page(browser, site, lang="en")
    try:
        lines = page.locator("#rm-plans details.rm-current ul.rm-why:visible li").all_inner_texts()
        assert lines[0].startswith("Via ") and " min" in lines[0], lines
    finally:
        context.close()
