"""Every interface string of ridermap, in Chinese and English, in one place.

Base floor: imports nothing of ridermap. A message id is ``space.name``
(``gapmap.title``, ``access.walk``); each message has a ``zh`` and an ``en``
text (or a tuple of texts, such as the weekday names). Chinese is the
default: any language other than ``en`` reads Chinese.

* :func:`t` gives one message, with ``str.format`` fields filled in;
* :func:`words` gives all messages of a space as a read-only mapping
  ``name -> text`` (what renderers index while they draw);
* :func:`labels` gives a space as ``name -> {"zh": ..., "en": ...}`` (what the
  site embeds, both languages at once).

Adding a string: add one entry below with both languages (a test checks
that both are there and name the same ``{fields}``), then use it by id.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Any

__all__ = ["LANGUAGES", "MESSAGES", "language", "labels", "t", "words"]

#: languages every message has; the first is the default
LANGUAGES = ("zh", "en")

#: a message text: one string, or a tuple of strings (weekday names, table headers)
Text = str | tuple[str, ...]

MESSAGES: dict[str, dict[str, Text]] = {
    # --- access: rider rules of gates and compounds (schema ``rider_access``)
    "access.ride": {"zh": "可骑行进入", "en": "Ride in"},
    "access.walk": {"zh": "停车步行进入", "en": "Park and walk in"},
    "access.none": {"zh": "禁止进入", "en": "No entry"},
    "access.unknown": {"zh": "待核实", "en": "To be confirmed"},
    # --- facility: facility kinds (schema ``FACILITY_KINDS``)
    "facility.charger": {"zh": "充电桩", "en": "Charger"},
    "facility.battery_swap": {"zh": "换电柜", "en": "Battery swap"},
    "facility.rider_parking": {"zh": "骑手停车点", "en": "Rider parking"},
    "facility.parcel_locker": {"zh": "快递柜", "en": "Parcel locker"},
    "facility.toilet": {"zh": "公共厕所", "en": "Toilet"},
    "facility.rider_station": {"zh": "骑手驿站", "en": "Rider station"},
    "facility.drinking_water": {"zh": "饮水点", "en": "Drinking water"},
    "facility.transfer_bicycle": {"zh": "换乘自行车", "en": "Transfer bicycles"},
    # --- honest: what every output says about unknown and inferred data (render/honest.py)
    "honest.unconfirmed": {"zh": "待核实", "en": "to be confirmed"},
    "honest.mark": {"zh": "（待核实）", "en": " (to be confirmed)"},
    "honest.unnamed": {"zh": "未命名小区", "en": "Unnamed compound"},
    "honest.no_gate": {"zh": "暂无已知出入口，请调查补充", "en": "No known gate yet: please survey and add"},
    "honest.no_index": {
        "zh": "暂无楼栋编号和单元门数据，请调查补充",
        "en": "No building numbers or unit doors known yet: please survey",
    },
    "honest.no_units": {"zh": "暂无单元门数据", "en": "No unit doors known"},
    "honest.no_usable_gate": {"zh": "不可达：无可用出入口", "en": "No usable gate"},
    "honest.draft": {"zh": "草图 / DRAFT", "en": "DRAFT / 草图"},
    "honest.draft_note": {"zh": "含待核实信息，核实后再使用", "en": "unconfirmed data: confirm before use"},
    "honest.inferred_gate": {"zh": "推测出入口（待核实）", "en": "Inferred gate (to be confirmed)"},
    "honest.location_unconfirmed": {"zh": "位置待核实", "en": "location to be confirmed"},
    "honest.rule_unconfirmed": {"zh": "骑手通行：待核实", "en": "Rider access: to be confirmed"},
    "honest.rider_rule": {"zh": "骑手通行：{access}", "en": "Rider access: {access}"},
    # --- gapmap: planner gap maps (render/gapmap.py)
    # --- signmap: the A3 sign-plan map (render/signs_map.py)
    "signmap.title": {"zh": "{name} 导向标识布置图", "en": "{name} — signage plan"},
    "signmap.posts": {"zh": "路口导向牌", "en": "Junction signs"},
    "signmap.more_faces": {"zh": "另有 {n} 个牌面，见 signs.csv", "en": "{n} more faces in signs.csv"},
    "signmap.numbers": {"zh": "楼栋号牌", "en": "Building numbers"},
    "signmap.letter": {"zh": "字高 {mm} mm", "en": "letters {mm} mm"},
    "signmap.none": {
        "zh": "无需路口导向牌：每条路线沿直行即可到达",
        "en": "No junction sign needed: every route goes straight on",
    },
    "signmap.legend_post": {"zh": "路口导向牌（短线＝牌面朝向）", "en": "Junction sign (tick = way a face looks)"},
    "signmap.legend_number": {"zh": "楼栋号牌（指向＝朝向）", "en": "Building number (points the way it faces)"},
    "signmap.legend_ride": {"zh": "可骑行道路", "en": "Rideable path"},
    "signmap.legend_walk": {"zh": "步行道路", "en": "Footpath"},
    "signmap.legend_gate": {"zh": "大门", "en": "Gate"},
    "signmap.metres": {"zh": "米", "en": "m"},
    "signmap.inferred": {"zh": "（待核实：依据推测的大门）", "en": " (to be confirmed: inferred gates)"},
    "signmap.more": {"zh": "另有 {n} 块楼栋号牌，见 signs.csv", "en": "{n} more building numbers in signs.csv"},
    "signmap.rule": {
        "zh": "字高按视距：每毫米字高 {m} 米视距（美国标识协会经验法则，见 README）",
        "en": "Letter height by viewing distance: {m} m per mm (US Sign Council rule of thumb, see README)",
    },
    # --- signs: what sign faces add to an arrow for one mode only (analysis/signs.py)
    "signs.mode_ride": {"zh": "（可骑行）", "en": " (ride)"},
    "signs.mode_walk": {"zh": "（步行）", "en": " (on foot)"},
    # --- gapcsv: column headers of the gap tables in Chinese (English headers are the column ids)
    "gapcsv.id": {"zh": "编号", "en": "id"},
    "gapcsv.community_id": {"zh": "小区编号", "en": "community_id"},
    "gapcsv.address": {"zh": "地址", "en": "address"},
    "gapcsv.no_gate": {"zh": "无可用出入口", "en": "no_gate"},
    "gapcsv.n_gaps": {"zh": "缺口数", "en": "n_gaps"},
    "gapcsv.name": {"zh": "小区", "en": "name"},
    "gapcsv.rider_access": {"zh": "骑手通行", "en": "rider_access"},
    "gapcsv.gates": {"zh": "出入口数", "en": "gates"},
    "gapcsv.ride_gates": {"zh": "可骑行出入口数", "en": "ride_gates"},
    "gapcsv.usable_gates": {"zh": "可用出入口数", "en": "usable_gates"},
    "gapcsv.closed_to_riders": {"zh": "禁止骑手进入", "en": "closed_to_riders"},
    "gapcsv.has_locker": {"zh": "有快递柜", "en": "has_locker"},
    "gapcsv.doors": {"zh": "门数", "en": "doors"},
    "gapcsv.unit_doors": {"zh": "单元门数", "en": "unit_doors"},
    "gapcsv.building_doors": {"zh": "楼栋门数（无单元门数据）", "en": "building_doors"},
    "gapcsv.no_gate_doors": {"zh": "无可用出入口的门数", "en": "no_gate_doors"},
    "gapcsv.doors_with_gaps": {"zh": "有缺口的门数", "en": "doors_with_gaps"},
    "gapcsv.kind": {"zh": "设施类型", "en": "kind"},
    "gapcsv.method": {"zh": "方法", "en": "method"},
    "gapcsv.rank": {"zh": "排名", "en": "rank"},
    "gapcsv.candidate_id": {"zh": "候选点", "en": "candidate_id"},
    "gapcsv.source": {"zh": "候选点来源", "en": "source"},
    "gapcsv.near": {"zh": "位置", "en": "near"},
    "gapcsv.newly_covered": {"zh": "新增覆盖门数", "en": "newly_covered"},
    "gapcsv.covers": {"zh": "新增覆盖的门", "en": "covers"},
    "gapcsv.unit_ids": {"zh": "新增覆盖的门编号", "en": "unit_ids"},
    "gapcsv.lon": {"zh": "经度", "en": "lon"},
    "gapcsv.lat": {"zh": "纬度", "en": "lat"},
    "gapcsv.kind_m": {"zh": "{kind}距离（米）", "en": "{kind}_m"},
    "gapcsv.kind_gap": {"zh": "{kind}缺口", "en": "{kind}_gap"},
    "gapcsv.kind_status": {"zh": "{kind}状态", "en": "{kind}_status"},
    "gapcsv.kind_gaps": {"zh": "{kind}缺口数", "en": "{kind}_gaps"},
    "gapcsv.kind_coverage_pct": {"zh": "{kind}达标率（%）", "en": "{kind}_coverage_pct"},
    "gapcsv.kind_target_m": {"zh": "{kind}目标（米）", "en": "{kind}_target_m"},
    "gapcsv.kind_mode": {"zh": "{kind}方式", "en": "{kind}_mode"},
    "gapcsv.near_gate": {"zh": "距{compound}{gate}约{m}米", "en": "about {m} m from {gate}, {compound}"},
    "gapcsv.near_building": {"zh": "距{address}约{m}米", "en": "about {m} m from {address}"},
    "gapcsv.more": {"zh": "等{n}处", "en": " and {n} more"},
    "gapmap.buildings": {"zh": "楼栋", "en": "Buildings"},
    "gapmap.unnumbered": {"zh": "未编号楼栋", "en": "Unnumbered"},
    "gapmap.doors_unit": {"zh": "个门", "en": "doors"},
    # --- plate: doorplates (render/doorplate/content.py)
    "plate.caption": {"zh": "扫码导航", "en": "Scan for directions"},
    "plate.no_unit": {"zh": "未编号单元", "en": "Unit (no number)"},
    "plate.no_building": {"zh": "未编号楼栋", "en": "Building (no number)"},
    "plate.unit": {"zh": "{n}单元", "en": "Unit {n}"},
    "plate.building": {"zh": "{n}号楼", "en": "Building {n}"},
    "plate.gate": {"zh": "出入口", "en": "Gate"},
    "plate.flats": {"zh": "户号 {flats}", "en": "Flats {flats}"},
    "plate.units": {"zh": "单元 {units}", "en": "Units {units}"},
    "plate.locked": {"zh": "常闭", "en": "usually locked"},
    "plate.sep": {"zh": "、", "en": ", "},
    "plate.key_note": {"zh": "{kind} {key}，{what}待核实", "en": "{kind} {key}; {what} to be confirmed"},
    "plate.survey_key": {"zh": "调查编号", "en": "Survey key"},
    "plate.no_unit_what": {"zh": "单元号", "en": "unit number"},
    "plate.no_building_what": {"zh": "楼号", "en": "building number"},
    "plate.rule_unconfirmed": {"zh": "骑手通行：待核实", "en": "Rider access: to be confirmed"},
    "plate.location_unconfirmed": {"zh": "位置待核实", "en": "Location to be confirmed"},
    "plate.report": {"zh": "报错 / Report: {host} · {code}", "en": "Report a problem: {host} · {code}"},
    # --- poster: gate guide posters (render/poster*.py)
    "poster.guide": {"zh": "骑手指引图", "en": "Rider guide"},
    "poster.overview": {"zh": "全区总图", "en": "Overview"},
    "poster.here": {"zh": "您在这里", "en": "You are here"},
    "poster.sign": {"zh": "路口导向牌（J1…）", "en": "Junction sign (J1…)"},
    "poster.legend": {"zh": "图例", "en": "Legend"},
    "poster.index": {"zh": "楼栋单元索引", "en": "Buildings and units"},
    "poster.gates": {"zh": "出入口", "en": "Gates"},
    "poster.nearby": {"zh": "附近设施（图外）", "en": "Nearby (off the map)"},
    "poster.scan": {"zh": "扫码查看路线和设施", "en": "Scan for routes and facilities"},
    "poster.scale": {"zh": "比例尺 1:{scale}", "en": "Scale 1:{scale}"},
    "poster.data_date": {"zh": "数据日期 {date}", "en": "Data of {date}"},
    "poster.north": {"zh": "北", "en": "N"},
    "poster.unit_fmt": {"zh": "{n}单元", "en": "Unit {n}"},
    "poster.units_fmt": {"zh": "{ns}单元", "en": "Units {ns}"},
    "poster.building_fmt": {"zh": "{n}号楼", "en": "Bldg {n}"},
    "poster.compound": {"zh": "小区范围", "en": "Compound"},
    "poster.building": {"zh": "楼栋及楼号", "en": "Building and number"},
    "poster.unit_door": {"zh": "单元门及单元号", "en": "Unit door and number"},
    "poster.street": {"zh": "街道", "en": "Street"},
    "poster.street_footway": {"zh": "街边步道", "en": "Footway"},
    "poster.rideable": {"zh": "院内可骑行道路", "en": "Rideable path"},
    "poster.walk_only": {"zh": "院内步行道路", "en": "Walk-only path"},
    "poster.outside_hours": {"zh": "其余时间停车步行", "en": "other times park and walk"},
    "poster.locked": {"zh": "常闭", "en": "locked"},
    "poster.hours": {"zh": "时段", "en": "hours"},
    "poster.compound_access": {"zh": "小区规定：{access}", "en": "Compound rule: {access}"},
    "poster.rule_unconfirmed": {"zh": "骑手通行：待核实", "en": "Rider access: to be confirmed"},
    "poster.unconfirmed": {"zh": "待核实：推测或未确认的信息", "en": "To be confirmed: inferred or unconfirmed"},
    "poster.no_gate": {"zh": "暂无已知出入口，请调查补充", "en": "No known gate yet: please survey and add"},
    "poster.no_index": {
        "zh": "暂无楼栋编号和单元门数据，请调查补充",
        "en": "No building numbers or unit doors known yet: please survey",
    },
    "poster.grid_note": {"zh": "网格每格 {side} 米", "en": "Grid squares {side} m"},
    "poster.sep": {"zh": "：", "en": ": "},
    "poster.callouts": {"zh": "图中编号", "en": "Numbered on the map"},
    "poster.callouts_listed": {"zh": "图中编号（· 图上未标注）", "en": "Numbered on the map (· not on it)"},
    "poster.inset": {"zh": "放大图 {tag}", "en": "Inset {tag}"},
    "poster.index_on_site": {"zh": "索引过长，请扫码查看", "en": "Too long to print: scan the QR code"},
    "poster.listed_more": {
        "zh": "另有 {n} 个楼号或单元号图上无位置，请扫码查看",
        "en": "{n} more numbers have no room on the map: scan the QR code",
    },
    "poster.far_gate": {
        "zh": "（距小区 {km} 公里，位置待核实）",
        "en": " ({km} km from the compound: location to be confirmed)",
    },
    # --- turn, route: turn-by-turn route steps (analysis/routing.py describe)
    "turn.left": {"zh": "左转", "en": "turn left"},
    "turn.right": {"zh": "右转", "en": "turn right"},
    "turn.slight_left": {"zh": "向左前方", "en": "bear left"},
    "turn.slight_right": {"zh": "向右前方", "en": "bear right"},
    "turn.uturn": {"zh": "掉头", "en": "make a U-turn"},
    "route.park_at": {"zh": "在{name}停车", "en": "Park at {name}"},
    "route.park_outside": {"zh": "在{gate}外停车", "en": "Park outside {gate}"},
    "route.ride_in": {"zh": "从{gate}骑行进入", "en": "Ride in through {gate}"},
    "route.walk_in": {"zh": "从{gate}步行进入", "en": "Walk in through {gate}"},
    "route.after_gate": {"zh": "进门后{turn}", "en": "Once through, {turn}"},
    "route.straight_turn": {"zh": "直行约{d}米，{turn}", "en": "Go straight about {d} m, then {turn}"},
    "route.sign_turn": {
        "zh": "直行约{d}米，在导向牌{sign}处{turn}",
        "en": "Go straight about {d} m, then {turn} at sign {sign}",
    },
    "route.ride_park": {"zh": "骑行约{d}米后停车", "en": "Ride about {d} m and park"},
    "route.park": {"zh": "停车", "en": "Park"},
    "route.walk_to_gate": {"zh": "步行约{d}米到{gate}", "en": "Walk about {d} m to {gate}"},
    "route.walk": {"zh": "步行约{d}米", "en": "Walk about {d} m"},
    "route.arrive_ride": {"zh": "骑行约{d}米到达{dest}", "en": "Ride about {d} m to {dest}"},
    "route.arrive_walk": {"zh": "步行约{d}米到达{dest}", "en": "Walk about {d} m to {dest}"},
    "route.arrive": {"zh": "到达{dest}", "en": "Arrive at {dest}"},
    # --- mapchar: the letter of each facility kind in its marker on the site's maps (render/site.py)
    "mapchar.charger": {"zh": "充", "en": "C"},
    "mapchar.battery_swap": {"zh": "换", "en": "B"},
    "mapchar.rider_parking": {"zh": "P", "en": "P"},
    "mapchar.parcel_locker": {"zh": "柜", "en": "L"},
    "mapchar.toilet": {"zh": "厕", "en": "WC"},
    "mapchar.rider_station": {"zh": "驿", "en": "S"},
    "mapchar.drinking_water": {"zh": "水", "en": "W"},
    "mapchar.transfer_bicycle": {"zh": "单", "en": "Bk"},
    # --- side, gen: English for names ridermap or a surveyor made from a side or a number (render/honest.py)
    "side.east": {"zh": "东", "en": "East"},
    "side.northeast": {"zh": "东北", "en": "North-east"},
    "side.north": {"zh": "北", "en": "North"},
    "side.northwest": {"zh": "西北", "en": "North-west"},
    "side.west": {"zh": "西", "en": "West"},
    "side.southwest": {"zh": "西南", "en": "South-west"},
    "side.south": {"zh": "南", "en": "South"},
    "side.southeast": {"zh": "东南", "en": "South-east"},
    "gen.side_gate": {"zh": "{side}门{n}", "en": "{side} gate{n}"},
    "gen.main_gate": {"zh": "{side}大门{n}", "en": "{side} main gate{n}"},
    "gen.numbered_gate": {"zh": "{n}号门", "en": "Gate {n}"},
    "gen.building": {"zh": "{n}号楼", "en": "Building {n}"},
    "gen.compound_in": {"zh": "{place}内小区{n}", "en": "Compound in {place}{n}"},
    "gen.compound_by": {"zh": "{place}旁小区{n}", "en": "Compound by {place}{n}"},
    "gen.unit": {"zh": "{n}单元", "en": "Unit {n}"},
    # --- why: why a unit page's route takes its gate, against the runner-up (render/route_why.py)
    "why.minutes": {"zh": "约{n}分钟", "en": "about {n} min"},
    "why.chosen": {
        "zh": "走{gate}：{mode}，约{m}米，约{n}分钟",
        "en": "Via {gate}: {mode}, about {m} m, about {n} min",
    },
    "why.chosen_nogate": {"zh": "{mode}，约{m}米，约{n}分钟", "en": "{mode}, about {m} m, about {n} min"},
    "why.alt": {
        "zh": "也可走{gate}：{mode}，约{m}米，约{n}分钟（{reason}）",
        "en": "Or via {gate}: {mode}, about {m} m, about {n} min ({reason})",
    },
    "why.runner_up": {"zh": "{gate}：{mode}，但{reason}", "en": "{gate}: {mode}, but {reason}"},
    "why.unusable": {"zh": "{gate}：{reason}", "en": "{gate}: {reason}"},
    "why.mode_ride": {"zh": "骑行进入", "en": "ride in"},
    "why.mode_walk": {"zh": "停车步行", "en": "park and walk"},
    "why.farther": {"zh": "远{m}米", "en": "{m} m farther"},
    "why.walk_only": {"zh": "只能停车步行", "en": "walk-in only"},
    "why.walk_only_now": {"zh": "此时段只能停车步行", "en": "walk-in only at this time"},
    "why.unconfirmed": {"zh": "骑手通行待核实，只按步行计", "en": "rider access to be confirmed, counted on foot"},
    "why.no_parking": {
        "zh": "门口没有骑手停车点，停车多计{s}秒",
        "en": "no rider parking at the gate, {s} s more counted for parking",
    },
    "why.gate_park": {"zh": "在门口停车，多计{s}秒", "en": "parking at the gate, {s} s more counted"},
    "why.slower": {"zh": "慢约{s}秒", "en": "about {s} s slower"},
    "why.no_access": {"zh": "骑手禁止进入", "en": "no rider access"},
    "why.locked": {"zh": "常闭", "en": "locked"},
    "gapmap.title": {"zh": "骑手设施缺口图", "en": "Rider facility gaps"},
    "gapmap.doors": {"zh": "单元门", "en": "Unit doors"},
    "gapmap.gap_levels": {
        "zh": ("无缺口", "1 类设施缺口", "2 类设施缺口", "3 类及以上"),
        "en": ("no gap", "1 kind in gap", "2 kinds in gap", "3 or more"),
    },
    "gapmap.target": {"zh": "目标", "en": "target"},
    "gapmap.coverage": {"zh": "达标", "en": "covered"},
    "gapmap.metres": {"zh": "米", "en": "m"},
    "gapmap.site": {"zh": "建议新增", "en": "Proposed"},
    "gapmap.covers": {"zh": "可新增覆盖", "en": "newly covers"},
    "gapmap.unreachable": {"zh": "不可达", "en": "unreachable"},
    "gapmap.gate": {"zh": "出入口", "en": "Gate"},
    "gapmap.locked": {"zh": "锁闭", "en": "locked"},
    "gapmap.legend": {"zh": "图例", "en": "Legend"},
    "gapmap.district": {"zh": "全区", "en": "District"},
    "gapmap.mode_ride": {"zh": "骑行", "en": "riding"},
    "gapmap.mode_walk": {"zh": "步行", "en": "walking"},
    "gapmap.n_a": {"zh": "不适用", "en": "n/a"},
    "gapmap.building_door": {"zh": "楼栋（无单元门数据）", "en": "building (no unit doors)"},
    "gapmap.no_gate": {"zh": "不可达：无可用出入口", "en": "No usable gate"},
    "gapmap.no_gate_note": {
        "zh": "本小区无可用出入口（未标注或全部锁闭），{n} 个门未计入缺口和达标率",
        "en": "No usable gate (none mapped or all locked): {n} doors left out of gaps and coverage",
    },
    "gapmap.no_gate_doors": {"zh": "无可用出入口的门", "en": "doors without a usable gate"},
    # --- survey_map: printed survey maps (render/survey_map.py)
    "survey_map.title": {"zh": "调查底图 · {name}", "en": "Survey map · {name}"},
    "survey_map.sub": {
        "zh": "{cid}　比例尺 1:{scale:,}　网格边长 {side:g} 米　"
        "在调查表中按调查编号（B07、G3、U07-2）或位置标记（S3、B07 南 2）填写",
        "en": "{cid}   scale 1:{scale:,}   grid {side:g} m   "
        "refer to features by key (B07, G3, U07-2) or mark (S3, B07 南 2) in the sheet",
    },
    "survey_map.unnumbered": {"zh": "未编号", "en": "no number"},
    "survey_map.candidate": {"zh": "待核实", "en": "to be confirmed"},
    "survey_map.north": {"zh": "北", "en": "N"},
    "survey_map.legend": {
        "zh": "图例：楼栋 B07（调查编号）+ 现有楼号　● 出入口 G1　○ 候选出入口（待核实）　■ 单元门 U07-1　"
        "▲ 设施　— 可骑行道路　┄ 步行道路　S3 围墙标记（约 15 米）　南1 2 3 楼栋长边标记（约 5 米）",
        "en": "Legend: building key B07 + current number   ● gate G1   ○ gate candidate (to be confirmed)   "
        "■ unit door   ▲ facility   — ride way   ┄ walk way   S3 outline mark (~15 m)   南1 2 3 wall marks (~5 m)",
    },
    "survey_map.attribution": {
        "zh": "© OpenStreetMap contributors · ridermap",
        "en": "© OpenStreetMap contributors · ridermap",
    },
    # --- findings: the findings workbook (publish/findings_xlsx.py)
    "findings.sheet": {"zh": "问题清单", "en": "Findings"},
    "findings.header": {
        "zh": ("严重程度", "文件", "工作表", "行", "列", "值", "问题", "代码", "图层", "编号"),
        "en": ("Severity", "File", "Sheet", "Row", "Column", "Value", "Message", "Code", "Layer", "Id"),
    },
    # --- at: where a survey row is, in findings' messages (model/merge.py)
    "at.csv": {"zh": "{name} 第 {row} 行", "en": "{name} row {row}"},
    "at.sheet": {"zh": "{name} 工作表“{layer}”第 {row} 行", "en": "{name} sheet {layer} row {row}"},
    "at.layer": {"zh": "{name} 图层“{layer}”第 {row} 个要素", "en": "{name} layer {layer} feature {row}"},
    # --- severity: finding severities
    "severity.error": {"zh": "错误", "en": "error"},
    "severity.warning": {"zh": "警告", "en": "warning"},
    "severity.info": {"zh": "提示", "en": "info"},
    # --- days: weekday names, Monday first (rider hours on the site)
    "days.week": {
        "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
        "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    },
    "days.every_day": {"zh": "每天 {hours}", "en": "Daily {hours}"},
    "days.span": {"zh": "{first}至{last}", "en": "{first}–{last}"},
    "days.hours_sep": {"zh": "、", "en": ", "},
    "days.group_sep": {"zh": "；", "en": "; "},
    "days.not_in_force": {"zh": "不适用", "en": "not in force"},
    # --- cli: the frame of a help page that follows --lang (ridermap/cli/lang.py)
    "cli.usage": {"zh": "用法：", "en": "Usage: "},
    "cli.options": {"zh": "选项", "en": "Options"},
    # --- validate_help: `ridermap validate --help` (ridermap/cli/validate.py); names are the option names
    "validate_help.command": {
        "zh": "检查 SOURCE…（OSM、调查表、GeoPackage），一次列出所有问题：文件、工作表、行、列、值和应填内容。\n\n"
        "退出码：0 没有问题或只有警告，1 有数据错误，2 文件无法读取或用法错误。",
        "en": "Check SOURCE... (OSM, survey sheets, GeoPackage) and list every problem at once: file, sheet, row, "
        "column, value and what is expected.\n\nExit 0 when clean or only warnings, 1 on data errors, 2 when a "
        "file cannot be read at all or on bad usage.",
    },
    "validate_help.crs": {
        "zh": "未声明坐标系的数据源的坐标系：wgs84、cgcs2000、gcj02、bd09、EPSG:n。",
        "en": "CRS of sources that declare none: wgs84, cgcs2000, gcj02, bd09, EPSG:n.",
    },
    "validate_help.config_path": {
        "zh": "ridermap.toml（网址、行政区划代码、语言、数据源）。",
        "en": "ridermap.toml (base URL, admin code, language, sources).",
    },
    "validate_help.fmt": {
        "zh": "输出格式：text 文本（默认）、json，或 xlsx（标出问题单元格的工作簿，需 -o）。",
        "en": "Output: text (default), json, or xlsx (a workbook marking the bad cells; needs -o).",
    },
    "validate_help.lang": {
        "zh": "信息语言：zh（默认，或配置文件中的语言）或 en。",
        "en": "Message language: zh (default, or the config's) or en.",
    },
    "validate_help.no_routes": {"zh": "跳过沿道路的可达性检查。", "en": "Skip the reachability check along paths."},
    "validate_help.output": {
        "zh": "写入此文件（--format xlsx 时必填）。",
        "en": "Write to this file (required with --format xlsx).",
    },
    "validate_help.help": {"zh": "显示此帮助并退出。", "en": "Show this message and exit."},
    # --- validate: what `ridermap validate` says (ridermap/cli/validate.py)
    "validate.no_source": {
        "zh": "请至少给出一个 SOURCE（或 --config）",
        "en": "give at least one SOURCE (or --config)",
    },
    "validate.need_output": {"zh": "--format xlsx 需要 -o 文件名", "en": "--format xlsx needs -o FILE"},
    "validate.wrote": {
        "zh": "已写入 {path}：{errors} 个错误，{warnings} 个警告",
        "en": "wrote {path}: {errors} errors, {warnings} warnings",
    },
    # --- sitemap: the rider site's maps and controls (templates/site, site.js; issue 12)
    "sitemap.show_on_map": {"zh": "在地图上显示", "en": "Show on map"},
    "sitemap.zoom_in": {"zh": "放大地图", "en": "Zoom in"},
    "sitemap.zoom_out": {"zh": "缩小地图", "en": "Zoom out"},
    "sitemap.layers": {"zh": "地图图层", "en": "Map layers"},
    "sitemap.cluster": {"zh": "{n}个设施：点按放大查看", "en": "{n} facilities: tap to zoom in"},
    "sitemap.lang_button": {"zh": "切换到英文", "en": "switch to Chinese"},
    "sitemap.noscript": {
        "zh": "本页的地图和搜索需要 JavaScript。下面的出入口、楼栋和单元列表不需要 JavaScript 也能使用。",
        "en": "The map and the search need JavaScript. The lists of gates, buildings and units below work without it.",
    },
    # --- layer: map layers of the rider site (render/site.py)
    "layer.outline": {"zh": "小区范围", "en": "Compound"},
    "layer.paths": {"zh": "道路", "en": "Paths"},
    "layer.buildings": {"zh": "楼栋", "en": "Buildings"},
    "layer.units": {"zh": "单元门", "en": "Unit doors"},
    "layer.gates": {"zh": "出入口", "en": "Gates"},
    "layer.facilities": {"zh": "设施", "en": "Facilities"},
    "layer.route": {"zh": "路线", "en": "Route"},
}


def language(lang: object) -> str:
    """``en`` for English, ``zh`` for anything else (Chinese first).

    >>> language("en"), language("zh"), language(None)
    ('en', 'zh', 'zh')
    """
    return "en" if lang == "en" else "zh"


def t(key: str, lang: object = "zh", /, **fields: object) -> str:
    """The text of message ``key`` in ``lang``, with ``fields`` filled in.

    Raises ``KeyError`` naming ``key`` if there is no such message.

    >>> t("access.walk", "en")
    'Park and walk in'
    >>> t("honest.rider_rule", "zh", access="可骑行进入")
    '骑手通行：可骑行进入'
    """
    text = MESSAGES[key][language(lang)]
    if not isinstance(text, str):
        raise TypeError(f"message {key!r} is a tuple of texts: use words() for it")
    return text.format(**fields) if fields else text


@cache
def _space(space: str, lang: str) -> Mapping[str, Any]:
    prefix = f"{space}."
    found = {key[len(prefix) :]: texts[lang] for key, texts in MESSAGES.items() if key.startswith(prefix)}
    if not found:
        raise KeyError(f"no messages in space {space!r}")
    return MappingProxyType(found)


def words(space: str, lang: object = "zh") -> Mapping[str, Any]:
    """All messages of ``space`` in ``lang`` as a read-only ``name -> text`` mapping, in catalogue order.

    >>> words("gapmap", "en")["title"]
    'Rider facility gaps'
    """
    return _space(space, language(lang))


def labels(space: str) -> dict[str, dict[str, Any]]:
    """All messages of ``space`` as ``name -> {"zh": text, "en": text}``, in catalogue order.

    >>> labels("access")["none"]
    {'zh': '禁止进入', 'en': 'No entry'}
    """
    zh, en = words(space, "zh"), words(space, "en")
    return {name: {"zh": zh[name], "en": en[name]} for name in zh}
