"""Write the blank survey templates (XLSX with a guide sheet, one CSV per layer).

Run ``python data/templates/make_templates.py``; the outputs are committed.
Headers are the Chinese column names ridermap reads (English names work too).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent

LAYERS = {
    "小区": ["编码", "名称", "骑手通行", "时段", "几何"],
    "出入口": ["小区", "名称", "骑手通行", "时段", "上锁", "经度", "纬度"],
    "楼栋": ["小区", "编号", "标注", "层数", "经度", "纬度", "几何"],
    "单元": ["小区", "楼号", "单元号", "标注", "房号范围", "经度", "纬度"],
    "设施": ["类型", "名称", "小区", "经度", "纬度"],
    "道路": ["小区", "类型", "可骑行", "几何"],
}
CSV_NAMES = {"小区": "communities", "出入口": "gates", "楼栋": "buildings", "单元": "units", "设施": "facilities", "道路": "paths"}

GUIDE = [
    ("用途", "网格员补充 OpenStreetMap 缺少的信息：楼号、单元门位置、出入口骑手通行规则、充电桩/快递柜/驿站等设施。"),
    ("坐标", "经度、纬度直接从高德/腾讯地图复制即为 GCJ-02，从百度地图复制为 BD-09：在 ridermap.toml 的 [[sources]] 中写 crs = \"gcj02\" 或 \"bd09\"；GPS/天地图为 wgs84/cgcs2000。"),
    ("小区", "编码：小区简称（字母数字，如 jhy），用于生成二维码网址；名称须与地图上的小区名一致。骑手通行：可骑行 / 步行 / 禁止。"),
    ("出入口", "名称如 南门；骑手通行：可骑行 / 步行（停车步行进入）/ 禁止；时段：上述规则生效的时间，OSM opening_hours 写法，如 Mo-Su 00:00-11:00,13:30-17:00（其余时间须停车步行）；上锁：是 / 否。"),
    ("楼栋", "为地图上没有楼号的楼补编号：经度纬度取楼内任一点；编号如 7，标注如 7号楼（原样显示）。新楼栋请在 几何 列填 WKT 面。"),
    ("单元", "每个单元门一行：楼号、单元号（如 2 或 2单元），经纬度取单元门位置；房号范围如 201-1802。"),
    ("设施", "类型：充电桩、换电柜、骑手停车点、快递柜、公共厕所、骑手驿站、饮水点、换乘自行车。"),
    ("道路", "补充小区内部道路：几何 列填 WKT 线（LINESTRING），类型如 footway/service，可骑行：是 / 否。"),
    ("检查", "填好后运行 ridermap validate ridermap.toml 的来源文件，按提示修正。"),
]


def main() -> None:
    with pd.ExcelWriter(HERE / "survey_template.xlsx", engine="openpyxl") as xw:
        pd.DataFrame(GUIDE, columns=["项目", "填写说明"]).to_excel(xw, sheet_name="说明", index=False)
        for sheet, cols in LAYERS.items():
            pd.DataFrame(columns=cols).to_excel(xw, sheet_name=sheet, index=False)
    for sheet, cols in LAYERS.items():
        # UTF-8 with BOM so Excel on Windows shows the Chinese headers
        (HERE / f"{CSV_NAMES[sheet]}.csv").write_text(",".join(cols) + "\n", encoding="utf-8-sig")
    print(f"wrote templates in {HERE}")


if __name__ == "__main__":
    main()
