"""Survey packs: a pre-filled workbook and a survey map per compound, and ``ridermap init``.

``DIR/<community_id>/survey.xlsx`` has the sheets and Chinese headers of
``data/templates/survey_template.xlsx`` plus ``调查编号`` (survey key) and
``位置标记`` (position mark) columns, pre-filled with everything the model
knows; ``DIR/<community_id>/survey-map.pdf`` shows every key and mark.

How a filled pack comes back: it is simply another survey SOURCE (``ridermap
init`` already lists ``survey/<cid>/survey.xlsx`` in ``ridermap.toml``).
Rows are matched by key; untouched pre-filled rows and the example row
(``调查编号`` = ``示例``) are skipped, so an unfilled pack applies as a no-op
(see :mod:`ridermap.model.survey_refs`).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ridermap import ids
from ridermap.errors import ConfigError, RenderError
from ridermap.model.bundle import Bundle
from ridermap.model.schema import FACILITY_KINDS, FACILITY_LABELS, INFERRED_SEP, PATH_KINDS_RIDEABLE
from ridermap.model.survey_refs import EXAMPLE_KEY
from ridermap.publish.atomic import atomic_path, write_text
from ridermap.safe_text import is_formula_like
from ridermap.text import natural_key

log = logging.getLogger(__name__)

ACCESS_ZH = {"ride": "可骑行", "walk": "步行", "none": "禁止"}
YES_NO = ("是", "否")
#: sheet -> columns: (header, width). Headers the reader knows are those of the
#: template; 现状 and 数据来源 are for the reader's eyes only (ignored on reading).
SHEETS: dict[str, list[tuple[str, int]]] = {
    "小区": [
        ("调查编号", 10),
        ("OSM", 18),
        ("编码", 12),
        ("名称", 24),
        ("骑手通行", 10),
        ("时段", 26),
        ("几何", 14),
        ("现状", 22),
        ("数据来源", 22),
    ],
    "出入口": [
        ("调查编号", 10),
        ("位置标记", 12),
        ("小区", 22),
        ("名称", 18),
        ("骑手通行", 10),
        ("时段", 26),
        ("上锁", 8),
        ("经度", 12),
        ("纬度", 12),
        ("现状", 22),
        ("数据来源", 22),
    ],
    "楼栋": [
        ("调查编号", 10),
        ("小区", 22),
        ("编号", 8),
        ("标注", 18),
        ("层数", 8),
        ("经度", 12),
        ("纬度", 12),
        ("几何", 14),
        ("现状", 22),
        ("数据来源", 22),
    ],
    "单元": [
        ("调查编号", 10),
        ("位置标记", 14),
        ("小区", 22),
        ("楼号", 8),
        ("单元号", 8),
        ("标注", 14),
        ("房号范围", 14),
        ("经度", 12),
        ("纬度", 12),
        ("现状", 22),
        ("数据来源", 22),
    ],
    "设施": [
        ("调查编号", 30),
        ("位置标记", 12),
        ("类型", 12),
        ("名称", 18),
        ("小区", 22),
        ("经度", 12),
        ("纬度", 12),
        ("现状", 22),
        ("数据来源", 22),
    ],
    "道路": [("调查编号", 10), ("小区", 22), ("类型", 14), ("可骑行", 8), ("几何", 40)],
}
BLANK_ROWS = 60
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_EXAMPLE_FONT = Font(italic=True, color="808080")
_INFO_FONT = Font(color="808080")


def safe_text(value: object) -> str:
    """Text for a cell: control characters XLSX cannot hold removed."""
    if value is None:
        return ""
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def set_text(cell, value: object) -> None:
    """Write ``value`` as a text cell that no spreadsheet will take for a formula.

    Every cell is an explicit string (never a formula), and text that a
    spreadsheet would take for one (:func:`ridermap.safe_text.is_formula_like`:
    ``= + - @``, tab, carriage return) also gets Excel's quote prefix, so
    editing it never turns it into a formula either. Unlike CSV
    (:func:`ridermap.safe_text.csv_cell`), no ``'`` is added to the value: the
    pack is read back as a survey source and must round-trip unchanged.
    """
    text = safe_text(value)
    cell.value = text if text else None
    if text:
        cell.data_type = "s"
        if is_formula_like(text):
            cell.quotePrefix = True


def _inferred(value: str, what: str) -> bool:
    return what in str(value).split(INFERRED_SEP)


def _levels(value) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and np.isnan(value)) or str(value) in ("<NA>", "nan")
        else str(int(value))
    )


def _osm_ref(source: str) -> str:
    m = re.search(r"osm:(way|relation|node)/(\d+)", str(source))
    return f"{m.group(1)}/{m.group(2)}" if m else ""


def _rows(view: Bundle, cid: str) -> dict[str, list[list[str]]]:
    """Pre-filled rows per sheet, in SHEETS column order (without the example)."""
    comm = view.communities.iloc[0]
    unknown = comm["rider_access"] == "unknown" or _inferred(comm["inferred"], "rider_access")
    status = "骑手通行待核实" if unknown else ""
    if _inferred(comm["inferred"], "name"):
        status = (status + "；" if status else "") + "名称为推测，待核实"
    rows: dict[str, list[list[str]]] = {
        "小区": [
            [
                "",
                _osm_ref(comm["source"]),
                "",
                comm["name"],
                "" if unknown else ACCESS_ZH.get(comm["rider_access"], ""),
                comm["rider_hours"],
                "",
                status,
                comm["source"],
            ]
        ]
    }
    gates = view.gates.sort_values("survey_key", key=lambda s: s.map(natural_key))
    rows["出入口"] = []
    for g in gates.itertuples():
        cand = _inferred(g.inferred, "location")
        unk = g.rider_access == "unknown" or _inferred(g.inferred, "rider_access")
        note = "候选出入口（推测），待核实" if cand else ("骑手通行待核实" if unk else "")
        rows["出入口"].append(
            [
                g.survey_key,
                "",
                cid,
                g.name,
                "" if unk else ACCESS_ZH.get(g.rider_access, ""),
                g.hours,
                "是" if g.locked else "否",
                "",
                "",
                note,
                g.source,
            ]
        )
    blds = view.buildings[view.buildings["survey_key"] != ""].sort_values(
        "survey_key", key=lambda s: s.map(natural_key)
    )
    rows["楼栋"] = [
        [
            b.survey_key,
            cid,
            b.number,
            b.label,
            _levels(b.levels),
            "",
            "",
            "",
            "未编号" if not b.number else ("楼号为推测，待核实" if _inferred(b.inferred, "number") else ""),
            b.source,
        ]
        for b in blds.itertuples()
    ]
    bnum = dict(zip(view.buildings["id"], view.buildings["number"]))
    units = view.units.sort_values("survey_key", key=lambda s: s.map(natural_key))
    rows["单元"] = [
        [
            u.survey_key,
            "",
            cid,
            bnum.get(u.building_id, ""),
            u.number,
            u.label,
            u.flats,
            "",
            "",
            "未编号" if not u.number else "",
            u.source,
        ]
        for u in units.itertuples()
    ]
    rows["设施"] = [
        [
            f.id,
            "",
            FACILITY_LABELS.get(f.kind, {}).get("zh", f.kind),
            f.name,
            f.community_id,
            "",
            "",
            "小区内" if f.community_id == cid else "小区附近（公共）",
            f.source,
        ]
        for f in view.facilities.sort_values("id").itertuples()
    ]
    rows["道路"] = []
    return rows


def _example(sheet: str, cid: str, view: Bundle) -> list[str] | None:
    """The example row of a sheet (``调查编号`` = 示例, never applied)."""
    p = view.communities.geometry.iloc[0].representative_point()
    line = f"LINESTRING ({p.x:.6f} {p.y:.6f}, {p.x + 0.0003:.6f} {p.y:.6f})"
    return {
        "出入口": [
            EXAMPLE_KEY,
            "S3",
            cid,
            "南门",
            "可骑行",
            "Mo-Su 06:00-22:00",
            "否",
            "",
            "",
            "示例行，导入时忽略",
            "",
        ],
        "楼栋": [EXAMPLE_KEY, cid, "7", "7号楼", "18", "", "", "", "示例行，导入时忽略", ""],
        "单元": [EXAMPLE_KEY, "B07 南 1", cid, "7", "1", "1单元", "101-1802", "", "", "示例行，导入时忽略", ""],
        "设施": [EXAMPLE_KEY, "S5", "充电桩", "南门充电桩", cid, "", "", "示例行，导入时忽略", ""],
        "道路": [EXAMPLE_KEY, cid, "footway", "否", line],
    }.get(sheet)


def _validations(sheet: str, headers: list[str], cid: str, last_row: int) -> list[tuple[DataValidation, str]]:
    lists = {
        "骑手通行": ",".join(ACCESS_ZH.values()),
        "上锁": ",".join(YES_NO),
        "可骑行": ",".join(YES_NO),
        "小区": cid,
    }
    if sheet == "设施":
        lists["类型"] = ",".join(FACILITY_LABELS[k]["zh"] for k in FACILITY_KINDS)
    if sheet == "道路":
        lists["类型"] = ",".join(
            k
            for k in ("footway", "path", "service", "living_street", "residential", "cycleway", "steps", "pedestrian")
            if k in PATH_KINDS_RIDEABLE
        )
    out = []
    for i, head in enumerate(headers, start=1):
        col = get_column_letter(i)
        ref = f"{col}2:{col}{last_row}"
        if head in lists:
            dv = DataValidation(
                type="list",
                formula1=f'"{lists[head]}"',
                allow_blank=True,
                showDropDown=False,
                errorTitle="请从下拉列表选择",
                error=f"可选：{lists[head]}",
            )
            out.append((dv, ref))
        elif head == "层数":
            dv = DataValidation(
                type="whole",
                operator="between",
                formula1="1",
                formula2="200",
                allow_blank=True,
                errorTitle="层数",
                error="请填 1 到 200 的整数",
            )
            out.append((dv, ref))
    return out


def _write_sheet(ws, sheet: str, rows: list[list[str]], example: list[str] | None, cid: str) -> None:
    cols = SHEETS[sheet]
    headers = [h for h, _ in cols]
    for j, (head, width) in enumerate(cols, start=1):
        cell = ws.cell(row=1, column=j)
        set_text(cell, head)
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[get_column_letter(j)].width = width
    r = 2
    if example is not None:
        for j, value in enumerate(example, start=1):
            cell = ws.cell(row=r, column=j)
            set_text(cell, value)
            cell.font = _EXAMPLE_FONT
        r += 1
    info = {headers.index(h) + 1 for h in ("现状", "数据来源") if h in headers}
    for values in rows:
        for j, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=j)
            set_text(cell, value)
            if j in info:
                cell.font = _INFO_FONT
        r += 1
    last = r + BLANK_ROWS
    for dv, ref in _validations(sheet, headers, cid, last):
        ws.add_data_validation(dv)
        dv.add(ref)
    ws.freeze_panes = "B2" if headers[0] == "调查编号" else "A2"


def _guide(view: Bundle, cid: str) -> list[tuple[str, str]]:
    comm = view.communities.iloc[0]
    name = comm["name"] or cid
    return [
        (
            "本包",
            f"小区 {name}（编码 {cid}）的调查包：本表 survey.xlsx 与调查底图 survey-map.pdf（A3 打印）。"
            "表中已填入地图上已有的信息，请到现场核对、改正、补全。",
        ),
        (
            "调查编号",
            "每栋楼一个编号 B01、B02…（由北向南、由西向东排），出入口 G1、G2…，单元门 U07-1、U07-2…"
            "（B07 的第 1、2 个单元门，由西向东排）。编号印在调查底图上。已有行的调查编号请勿修改；"
            "新增的行调查编号留空。",
        ),
        (
            "候选出入口",
            "底图上空心橙色圆圈、表中现状为“候选出入口（推测），待核实”的 G 编号，是道路穿过小区围墙处推测的出入口。"
            "请到现场确认并填写 骑手通行（可骑行 / 步行 / 禁止）；如实际是封闭的，上锁 填 是。",
        ),
        (
            "位置标记",
            "不需要经纬度。小区围墙沿线每约 15 米有一个标记 S1、S2…（从最北点起顺时针）；"
            "每栋楼两条长边每约 5 米有一个标记，写作 楼编号 + 朝向 + 序号，如 B07 南 2 = B07 南墙上第 2 个标记"
            "（南北墙由西向东数，东西墙由北向南数；底图上每条墙的第一个标记印作“南1”，其后只印序号）。",
        ),
        (
            "新增出入口",
            "在 出入口 表末空行填：位置标记（最近的 S 标记，如 S12）、名称（如 南门）、骑手通行、时段、上锁。",
        ),
        (
            "新增单元门",
            "在 单元 表末空行填：位置标记（如 B07 南 1）、单元号（如 1 或 1单元），可填 房号范围；楼号可留空（"
            "按标记所在楼）。",
        ),
        ("楼号", "在 楼栋 表中按调查编号找到该楼，填 编号（如 7）和 标注（如 7号楼，原样显示在海报上）、层数。"),
        (
            "设施",
            "已有的设施按调查编号列出；新增充电桩、换电柜、骑手停车点、快递柜、公共厕所、骑手驿站、饮水点等："
            "填 类型（下拉选择）、名称、位置标记 或 经纬度。",
        ),
        (
            "下拉选项",
            "骑手通行：可骑行 / 步行（停车步行进入）/ 禁止；上锁：是 / 否；设施类型：充电桩、换电柜、骑手停车点、"
            "快递柜、"
            "公共厕所、骑手驿站、饮水点、换乘自行车。时段用 OSM opening_hours 写法，如 Mo-Su 06:00-22:00。",
        ),
        ("示例行", f"各表第 2 行（灰色斜体，调查编号为“{EXAMPLE_KEY}”）只是示例，导入时忽略，可保留。"),
        ("不必改的", "未改动的已有行导入时不会产生任何变化；“现状”“数据来源”两列仅供参考，导入时忽略。"),
        (
            "经纬度",
            "仍可填写经度、纬度代替位置标记：从高德/腾讯地图复制的是 GCJ-02，须在 ridermap.toml 中为本文件写 "
            'crs = "gcj02"（百度为 bd09）。同时填了位置标记和经纬度时使用位置标记。',
        ),
        (
            "交回",
            "保存为原文件名 survey/<小区编码>/survey.xlsx（ridermap.toml 已列为数据来源），然后运行 "
            "ridermap validate --config ridermap.toml 检查，再运行 ridermap build ridermap.toml。",
        ),
    ]


def survey_workbook(bundle: Bundle, community_id: str, *, view: Bundle | None = None) -> Workbook:
    """The pre-filled survey workbook of one compound (nothing written).

    ``view`` is ``bundle.community(community_id)`` if the caller has it already.
    """
    view = view if view is not None else bundle.community(community_id)
    wb = Workbook()
    guide = wb.active
    guide.title = "说明"
    for j, head in enumerate(("项目", "填写说明"), start=1):
        set_text(guide.cell(row=1, column=j), head)
        guide.cell(row=1, column=j).font = Font(bold=True)
        guide.cell(row=1, column=j).fill = _HEAD_FILL
    for i, (item, text) in enumerate(_guide(view, community_id), start=2):
        set_text(guide.cell(row=i, column=1), item)
        set_text(guide.cell(row=i, column=2), text)
        guide.cell(row=i, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    guide.column_dimensions["A"].width = 12
    guide.column_dimensions["B"].width = 110
    guide.freeze_panes = "A2"
    rows = _rows(view, community_id)
    for sheet in SHEETS:
        _write_sheet(wb.create_sheet(sheet), sheet, rows[sheet], _example(sheet, community_id, view), community_id)
    return wb


@dataclass(frozen=True)
class PackFiles:
    community_id: str
    workbook: Path
    map_pdf: Path
    keys: tuple[str, ...]


def write_survey_pack(
    bundle: Bundle, community_id: str, outdir: str | Path, *, paper: str = "A3", language: str = "zh"
) -> PackFiles:
    """Write ``outdir/<community_id>/survey.xlsx`` and ``survey-map.pdf`` (atomically)."""
    from ridermap.render.survey_map import render_survey_map

    if not ids.is_safe_id(community_id):
        raise ConfigError(f"compound id {community_id!r} is not safe as a folder name")
    folder = Path(outdir) / community_id
    view = bundle.community(community_id)
    wb = survey_workbook(bundle, community_id, view=view)
    smap = render_survey_map(bundle, community_id, paper=paper, language=language, view=view)
    with atomic_path(folder / "survey.xlsx") as tmp:
        wb.save(tmp)
    rc = {"pdf.fonttype": 3, "pdf.compression": 6}
    metadata = {"Title": smap.title, "Creator": "ridermap", "CreationDate": None, "ModDate": None}
    with atomic_path(folder / "survey-map.pdf") as tmp, matplotlib.rc_context(rc):  # type: ignore[arg-type]
        smap.figure.savefig(tmp, format="pdf", metadata=metadata)
    log.info("wrote survey pack %s", folder)
    return PackFiles(community_id, folder / "survey.xlsx", folder / "survey-map.pdf", smap.keys)


def write_survey_packs(
    bundle: Bundle, outdir: str | Path, *, communities=(), paper: str = "A3", language: str = "zh"
) -> list[PackFiles]:
    """Write a survey pack for each of ``communities`` (default: every compound)."""
    chosen = list(communities) or bundle.community_ids()
    known = set(bundle.community_ids())
    missing = [c for c in chosen if c not in known]
    if missing:
        raise ConfigError(f"no community with id {missing[0]!r} (known: {', '.join(sorted(known)[:10])})")
    packs, failed = [], []
    for cid in chosen:
        try:
            packs.append(_pack_fitting(bundle, cid, outdir, paper=paper, language=language))
        except RenderError as exc:  # one compound's problem never stops the others
            log.error("%s", exc)
            failed.append(f"{cid}: {exc}")
    if failed:
        raise RenderError(
            f"{len(failed)} of {len(chosen)} survey pack(s) not written ({len(packs)} written): " + "; ".join(failed)
        )
    return packs


def _pack_fitting(bundle: Bundle, cid: str, outdir, *, paper: str, language: str) -> PackFiles:
    """A pack on ``paper``, or on the next larger paper when the labels do not fit (with a warning)."""
    from ridermap.render.poster_style import larger_paper
    from ridermap.render.survey_map import SurveyMapFitError

    current = paper
    while True:
        try:
            return write_survey_pack(bundle, cid, outdir, paper=current, language=language)
        except SurveyMapFitError:
            bigger = larger_paper(current)
            if bigger is None:
                raise
            log.warning("survey map of %s does not fit on %s: using %s", cid, current, bigger)
            current = bigger


def _toml_str(value: str) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _source_path(src: str, directory: Path) -> str:
    """A source as the config should name it: relative when inside ``directory``, else absolute."""
    if src.startswith("overpass:"):
        return src
    path = Path(src).resolve()
    rel = os.path.relpath(path, directory.resolve())
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


def init_config_text(
    directory: Path, sources: list[str], packs: list[PackFiles], *, admin_code: str, name: str, communities=()
) -> str:
    """The ``ridermap.toml`` that ``ridermap init`` writes."""
    lines = ["# ridermap.toml written by `ridermap init` (路径相对于本文件)", ""]
    if communities:  # a top-level key: it must come before the first [table]
        lines += [f"communities = [{', '.join(_toml_str(c) for c in communities)}]", ""]
    lines += [
        "[project]",
        f"name = {_toml_str(name)}",
        f"admin_code = {_toml_str(admin_code)}",
        'language = "zh"',
        "# 网站实际地址：门牌和海报上的二维码指向这里 / where the rider site is hosted (QR codes point here)",
        'base_url = "https://rider.example.cn/"',
        "# 数据日期，印在海报上 / data date printed on posters",
        f"data_date = {_toml_str(date.today().strftime('%Y-%m'))}",
        "",
    ]
    for src in sources:
        lines += ["[[sources]]", f"path = {_toml_str(_source_path(src, directory))}", ""]
    lines += [
        "# 调查包 / survey packs: fill survey/<id>/survey.xlsx in place; an unfilled pack changes nothing.",
        '# 如表中填了从高德/腾讯复制的经纬度，在该来源下加 crs = "gcj02"。',
    ]
    for pack in packs:
        rel = os.path.relpath(pack.workbook.resolve(), directory.resolve())
        lines += ["[[sources]]", f"path = {_toml_str(Path(rel).as_posix())}", ""]
    lines += [
        "[build]",
        'outputs = ["gpkg", "validation", "posters", "doorplates", "site", "gaps", "signs"]',
        'paper = "A2"',
        "",
    ]
    return "\n".join(lines)


def write_init(
    directory: str | Path,
    bundle: Bundle,
    sources: list[str],
    *,
    communities=(),
    admin_code: str,
    name: str = "ridermap",
    paper: str = "A3",
) -> tuple[Path, list[PackFiles]]:
    """Write ``directory/ridermap.toml`` and the survey packs in ``directory/survey/``."""
    directory = Path(directory)
    if (directory / "ridermap.toml").exists():
        raise ConfigError(f"{directory / 'ridermap.toml'}: already exists (init never overwrites a config)")
    packs = write_survey_packs(bundle, directory / "survey", communities=communities, paper=paper)
    text = init_config_text(directory, sources, packs, admin_code=admin_code, name=name, communities=communities)
    return write_text(directory / "ridermap.toml", text), packs
