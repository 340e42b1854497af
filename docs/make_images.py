"""Regenerate the pictures of docs/walkthrough-draft.md from the xueyuanlu extract.

    .venv/bin/python docs/make_images.py

Runs ``ridermap init`` on ``../shared/data/osm/beijing_xueyuanlu.osm`` in a
temporary folder, fills the pack of 双泉嘉苑 (``110108-w960760118``) by script
as a grid worker would (building numbers by key, a gate by outline mark, unit
doors by wall mark, a charger), builds its overview poster, and writes into
``docs/images/``:

* ``survey-map.png`` – the survey map (page 1 of ``survey-map.pdf``, pdftoppm),
* ``filled-sheet.png`` – the filled 楼栋 and 单元 sheets, drawn as a spreadsheet
  (no office suite needed),
* ``poster.png`` – the overview poster built from the filled pack.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import openpyxl
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OSM = ROOT.parent / "shared" / "data" / "osm" / "beijing_xueyuanlu.osm"
CID = "110108-w960760118"
OUT = ROOT / "docs" / "images"


def _append(ws, values: dict) -> None:
    head = [c.value for c in ws[1]]
    row = max(r for r in range(1, ws.max_row + 1) if any(ws.cell(r, c).value for c in range(1, len(head) + 1))) + 1
    for col, value in values.items():
        ws.cell(row, head.index(col) + 1, value)


def fill(path: Path, bundle) -> None:
    """Numbers 21–25 by key, 大门 at the outline mark nearest the inner paths, two doors per building."""
    from ridermap.model.survey_keys import compound_marks, compound_metric

    wb = openpyxl.load_workbook(path)
    keys = []
    for row in wb["楼栋"].iter_rows(min_row=3):
        if row[0].value:
            n = str(20 + int(row[0].value[1:]))
            row[2].value, row[3].value, row[4].value = n, f"{n}号楼", 6
            keys.append(row[0].value)
    marks = compound_marks(bundle, CID)
    metric = compound_metric(bundle, CID)
    inner = bundle.paths[bundle.paths["community_id"] == CID]
    outline = marks[marks["building_id"] == ""]
    d = shapely.distance(metric.forward(list(outline.geometry))[:, None], metric.forward(list(inner.geometry))[None, :])
    gate = outline["mark"].iloc[int(np.argmin(d.min(axis=1)))]
    _append(wb["出入口"], {"位置标记": gate, "小区": CID, "名称": "大门", "骑手通行": "可骑行", "时段": "Mo-Su 06:00-23:00", "上锁": "否"})
    for key in keys:
        sides = marks[marks["mark"].str.startswith(key + " ")]
        side = "南" if (sides["side"] == "南").any() else sides["side"].iloc[0]
        for order in (1, 2):
            if (sides["mark"] == f"{key} {side} {order}").any():
                _append(wb["单元"], {"位置标记": f"{key} {side} {order}", "小区": CID, "单元号": str(order),
                                   "房号范围": f"{order}01-{order}06"})
    _append(wb["设施"], {"位置标记": gate, "类型": "充电桩", "名称": "大门充电桩", "小区": CID})
    wb.save(path)


def sheet_image(path: Path, target: Path) -> None:
    """Draw the 楼栋 and 单元 sheets of a workbook like a spreadsheet window."""
    from matplotlib.figure import Figure

    from ridermap.render.fonts import font_family

    family = font_family()
    wb = openpyxl.load_workbook(path)
    panels = []
    for name, ncols, nrows in (("楼栋", 5, 7), ("单元", 7, 9)):
        ws = wb[name]
        rows = [[("" if c.value is None else str(c.value)) for c in r[:ncols]] for r in ws.iter_rows(max_row=nrows)]
        example = [bool(r[0].font and r[0].font.i) for r in ws.iter_rows(max_row=nrows)]
        panels.append((name, rows, example))
    fig = Figure(figsize=(11.0, 7.2), dpi=130, facecolor="white")
    widths = [1.0, 1.7, 2.2, 0.9, 1.0, 1.1, 1.2]
    y = 0.97
    for name, rows, example in panels:
        ax = fig.add_axes((0.02, y - 0.03 - 0.046 * len(rows), 0.96, 0.046 * len(rows)))
        ax.set_xlim(0, sum(widths[: len(rows[0])]) + 0.5)
        ax.set_ylim(len(rows), 0)
        ax.set_axis_off()
        fig.text(0.02, y, f"工作表「{name}」", fontfamily=family, fontsize=11, va="top")
        for i, row in enumerate(rows):
            x = 0.5
            ax.text(0.25, i + 0.5, str(i + 1), ha="center", va="center", fontsize=8, color="#666666", fontfamily=family)
            for j, value in enumerate(row):
                face = "#DDEBF7" if i == 0 else ("#fff8e1" if value and j in (2, 3, 4) and i > 1 and name == "楼栋" else "white")
                if name == "单元" and i > 1 and value and j in (1, 4, 6):
                    face = "#fff8e1"
                ax.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
                    (x, i), widths[j], 1, facecolor=face, edgecolor="#c0c0c0", linewidth=0.6))
                color = "#808080" if example[i] and i > 0 else "#111111"
                ax.text(x + 0.06, i + 0.5, value, va="center", fontsize=9, color=color, fontfamily=family,
                        style="italic" if example[i] and i > 0 else "normal", clip_on=True)
                x += widths[j]
        y -= 0.08 + 0.046 * len(rows)
    fig.text(0.02, 0.02, "黄色：网格员填写的格子（楼号按调查编号，单元门按位置标记）；灰色斜体：示例行（导入时忽略）",
             fontfamily=family, fontsize=9, color="#555555")
    fig.savefig(target, format="png")


def main() -> None:
    import cli
    from click.testing import CliRunner

    from ridermap.config import load_config
    from ridermap.ingest import bundle_from_config, bundle_from_sources
    from ridermap.publish.build import build

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "proj"
        res = CliRunner().invoke(cli.main, ["init", str(proj), "--from", str(OSM), "--admin-code", "110108",
                                            "--name", "学院路街道骑手友好社区"])
        assert res.exit_code == 0, res.output
        base = bundle_from_sources([OSM], admin_code="110108")
        subprocess.run(["pdftoppm", "-r", "110", "-png", "-singlefile", str(proj / "survey" / CID / "survey-map.pdf"),
                        str(OUT / "survey-map")], check=True)
        pack = proj / "survey" / CID / "survey.xlsx"
        fill(pack, base)
        sheet_image(pack, OUT / "filled-sheet.png")
        config = dataclasses.replace(load_config(proj / "ridermap.toml"), communities=(CID,), outputs=("posters",),
                                     paper="A3", workers=1)
        build(bundle_from_config(config), Path(tmp) / "out", config=config)
        poster = Path(tmp) / "out" / "posters" / CID / f"{CID}-overview.pdf"
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", str(poster), str(OUT / "poster")], check=True)
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('*.png')))} in {OUT}")


if __name__ == "__main__":
    main()
