"""Write a compound's signage plan as tables: ``signs.csv`` and ``signs.geojson``.

One row per sign: a junction face (``J3a``: post J3, face a) or a building
number (``N5``). Columns: ``id``, ``kind`` (``junction`` / ``building_number``),
``community_id``, ``lon``, ``lat``, ``facing_deg`` (compass bearing the sign
faces, towards its reader), ``text`` and ``text_en`` (the face as printed),
``arrows`` (JSON: symbol, turn in degrees, modes and the door ids each arrow
leads to), ``letter_mm`` (cap height), ``view_m`` (reading distance),
``building_id``, ``routes`` (rider routes that pass a junction face) and
``why`` (why the sign is needed). What ridermap planned from inferred gates is
marked ``inferred`` (待核实) like everything it infers.

CSV cells that a spreadsheet would run as a formula are neutralised
(:func:`ridermap.safe_text.csv_frame`); the CSV has a byte-order mark for Excel.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ridermap.analysis.signs import JUNCTION_VIEW_M, SignPlan
from ridermap.fileio import write_bytes, write_text
from ridermap.safe_text import csv_frame

__all__ = ["signs_table", "write_sign_tables", "write_compound_signs"]

COLUMNS = [
    "id",
    "kind",
    "community_id",
    "lon",
    "lat",
    "facing_deg",
    "text",
    "text_en",
    "arrows",
    "letter_mm",
    "view_m",
    "building_id",
    "routes",
    "inferred",
    "why",
]


def _face_letter(k: int) -> str:
    letters = string.ascii_lowercase
    return letters[k] if k < len(letters) else f"{letters[k // len(letters) - 1]}{letters[k % len(letters)]}"


def signs_table(plan: SignPlan, *, inferred_gates: frozenset[str] = frozenset()) -> gpd.GeoDataFrame:
    """Every sign of ``plan`` as rows (WGS84 points), junction faces first, then building numbers.

    ``inferred_gates``: gates ridermap inferred; a face any of whose routes
    starts at one is marked ``inferred`` (待核实).
    """
    from_inferred = {r.door_id for r in plan.routes if r.gate_id in inferred_gates}
    rows = []
    for sign in plan.junctions:
        for k, face in enumerate(sign.faces):
            arrows = [
                {
                    "symbol": a.symbol,
                    "turn_deg": a.turn_deg,
                    "modes": list(a.modes),
                    "text": a.text,
                    "text_en": a.text_en,
                    "doors": list(a.doors),
                }
                for a in face.arrows
            ]
            rows.append(
                {
                    "id": f"{sign.id}{_face_letter(k)}",
                    "kind": "junction",
                    "community_id": sign.community_id,
                    "lon": round(face.lon, 7),
                    "lat": round(face.lat, 7),
                    "facing_deg": round(face.facing_deg, 1),
                    "text": face.text,
                    "text_en": face.text_en(),
                    "arrows": json.dumps(arrows, ensure_ascii=False),
                    "letter_mm": face.letter_mm,
                    "view_m": JUNCTION_VIEW_M,
                    "building_id": "",
                    "routes": face.routes,
                    "inferred": bool(from_inferred & {d for a in face.arrows for d in a.doors}),
                    "why": sign.why,
                }
            )
    for s in plan.buildings:
        rows.append(
            {
                "id": s.id,
                "kind": "building_number",
                "community_id": s.community_id,
                "lon": round(s.lon, 7),
                "lat": round(s.lat, 7),
                "facing_deg": s.facing_deg,
                "text": s.text,
                "text_en": s.text,
                "arrows": "[]",
                "letter_mm": s.letter_mm,
                "view_m": s.view_m,
                "building_id": s.building_id,
                "routes": 0,
                "inferred": False,
                "why": s.why,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return gpd.GeoDataFrame(
        frame, geometry=shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)), crs="EPSG:4326"
    )


def write_sign_tables(
    plan: SignPlan, folder: str | Path, *, inferred_gates: frozenset[str] = frozenset()
) -> list[Path]:
    """``signs.csv`` and ``signs.geojson`` of one compound in ``folder``; the files written."""
    folder = Path(folder)
    table = signs_table(plan, inferred_gates=inferred_gates)
    csv = csv_frame(pd.DataFrame(table.drop(columns="geometry"))).to_csv(index=False)
    geojson = table.to_json(drop_id=True, ensure_ascii=False, indent=1)
    return [
        write_bytes(folder / "signs.csv", ("\ufeff" + csv).encode("utf-8")),
        write_text(folder / "signs.geojson", geojson + "\n"),
    ]


def write_compound_signs(view, community_id: str, outdir: str | Path, *, config, analysis=None) -> list[Path]:
    """Everything of one compound's signage plan into ``outdir/<community_id>/``; the files written.

    ``signs.csv``, ``signs.geojson``, ``sign-plan.pdf`` (A3 map) and
    ``art/<sign id>.pdf`` (real size, one page per variant) for every
    junction face and building number.
    """
    from ridermap.analysis.context import Analysis
    from ridermap.model.confirmed import needs_draft
    from ridermap.publish.figures import write_figure_pdf
    from ridermap.publish.gpkg import fixed_timestamp
    from ridermap.render.sign_art import alphabet, face_panel, number_panel, sign_pdf
    from ridermap.render.signs_map import sign_plan_figure

    folder = Path(outdir) / community_id
    plan = (analysis if analysis is not None else Analysis(view)).sign_plan(view, community_id)
    gates = view.gates
    inferred = (
        frozenset(i for i, how in zip(gates["id"], gates["inferred"]) if "location" in str(how))
        if "inferred" in gates
        else frozenset()
    )
    written = write_sign_tables(plan, folder, inferred_gates=inferred)
    draft = needs_draft(getattr(config, "draft", "auto"), view.gates, community_id)
    fig = sign_plan_figure(plan, view, language=config.language, draft=draft, inferred_gates=inferred)
    folder.mkdir(parents=True, exist_ok=True)
    written.append(
        write_figure_pdf(
            fig,
            folder / "sign-plan.pdf",
            title=f"ridermap signs {community_id}",
            created=fixed_timestamp(config.data_date),
        )
    )
    lang = "en" if config.language == "en" else "zh"
    panels = [
        face_panel(f"{sign.id}{_face_letter(k)}", face, lang=lang)
        for sign in plan.junctions
        for k, face in enumerate(sign.faces)
    ]
    panels += [number_panel(s) for s in plan.buildings]
    chars = alphabet(panels)  # one font subset for all of them
    for panel in panels:
        written.append(write_bytes(folder / "art" / f"{panel.sign_id}.pdf", sign_pdf(panel, chars=chars)))
    return written
