"""The import-layer contract: every module of ridermap imports downward only.

The floors, bottom to top (README, ARCHITECTURE.md, ../shared/docs/whiteboard.json)::

    face      cli.py, ridermap/cli/, ridermap/__init__.py (the public façade)
    publish   ridermap/publish/      writes files
    render    ridermap/render/       draws; returns objects, touches no disk
    ingest | analysis                readers | network, routes, gaps (siblings: neither imports the other)
    model     ridermap/model/        the bundle, schema, merge, inference
    base      ridermap/*.py          errors, ids, urls, config, resources, crs, utm, numbers, hours,
                                     safe_text, fileio, text, i18n: imports nothing of ridermap above it

A module may import its own part and any lower floor, never a higher floor and never a sibling
on its own floor; on top of that the whiteboard's "never" arrows are checked by name (one of
them, render -> ingest, runs downward and is still forbidden: CRS lives in the base floor).
Every import counts: module level, inside functions (lazy), under ``if TYPE_CHECKING``, and
``importlib.import_module("ridermap...")`` with a literal name. The modules are parsed, not
imported, so a broken module cannot hide an arrow.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "ridermap"

#: floor of each part; a higher number sits higher
FLOOR = {"base": 0, "model": 1, "ingest": 2, "analysis": 2, "render": 3, "publish": 4, "face": 5}

#: subpackages of ridermap and the part each belongs to (a new subpackage must be placed here)
SUBPACKAGES = {
    "model": "model",
    "ingest": "ingest",
    "analysis": "analysis",
    "render": "render",
    "publish": "publish",
    "cli": "face",
}

#: arrows that must never exist, with the reason (../shared/docs/whiteboard.json, "never")
NEVER = {
    ("model", "render"): "the model knows no drawing",
    ("model", "face"): "the library knows no CLI",
    ("model", "ingest"): "helpers two floors need go down to the base floor",
    ("model", "analysis"): "validation that needs the network lives in analysis",
    ("analysis", "render"): "analysis is pure",
    ("analysis", "publish"): "analysis touches no disk",
    ("render", "publish"): "render returns objects; publish saves them",
    ("render", "ingest"): "CRS lives in the base floor",
    ("ingest", "render"): "readers draw nothing",
    ("ingest", "publish"): "atomic writing lives in the base floor",
    ("publish", "face"): "the library knows no CLI",
    ("base", "model"): "the base floor imports nothing of ridermap",
    ("base", "ingest"): "CRS moves down into the base floor",
}

#: whiteboard part names -> ours
WHITEBOARD_PARTS = {
    "Face": "face",
    "Publish": "publish",
    "Render": "render",
    "Analysis": "analysis",
    "Ingest": "ingest",
    "Model": "model",
    "Core": "base",
}


@dataclass(frozen=True)
class Arrow:
    """One import statement: ``importer`` (module) imports ``imported`` (module) at ``file:line``."""

    importer: str
    imported: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.importer} imports {self.imported}"


def part_of(module: str) -> str | None:
    """The part a dotted module name belongs to; ``None`` for modules outside ridermap."""
    names = module.split(".")
    if names[0] == "cli":
        return "face"
    if names[0] != "ridermap":
        return None
    if len(names) == 1:
        return "face"  # ridermap/__init__.py re-exports the public API of every floor
    if names[1] in SUBPACKAGES:
        return SUBPACKAGES[names[1]]
    if (PACKAGE / names[1]).is_dir():
        raise AssertionError(f"ridermap/{names[1]}/ is on no floor: add it to SUBPACKAGES in tests/test_layers.py")
    return "base"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """Absolute module names an ``import from`` statement reaches (``from ridermap import ids`` -> ridermap.ids)."""
    if node.level:
        here = module.split(".") if is_package else module.split(".")[:-1]
        base = here[: len(here) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    out = []
    for alias in node.names:
        candidate = f"{target}.{alias.name}"
        sub = Path(*candidate.split("."))
        is_module = (ROOT / sub).with_suffix(".py").is_file() or (ROOT / sub / "__init__.py").is_file()
        out.append(candidate if is_module else target)
    return out


def arrows_of(path: Path, root: Path = ROOT) -> list[Arrow]:
    """Every import in the file at ``path`` (anywhere in it) as arrows between modules."""
    module = _module_name(path, root)
    rel = str(path.relative_to(root))
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    found: list[Arrow] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Arrow(module, a.name, rel, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found += [Arrow(module, m, rel, node.lineno) for m in _resolve(node, module, path.name == "__init__.py")]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Arrow(module, node.args[0].value, rel, node.lineno))
    return found


def library_files() -> list[Path]:
    files = sorted(PACKAGE.rglob("*.py")) + [ROOT / "cli.py"]
    return [f for f in files if f.is_file()]


def violations(arrows: list[Arrow]) -> list[str]:
    """Each arrow that breaks the contract, with the rule it breaks."""
    bad = []
    for arrow in arrows:
        src, dst = part_of(arrow.importer), part_of(arrow.imported)
        if src is None or dst is None or src == dst:
            continue
        if (src, dst) in NEVER:
            bad.append(f"{arrow}: {src} -> {dst} must never exist ({NEVER[src, dst]})")
        elif FLOOR[dst] > FLOOR[src]:
            bad.append(f"{arrow}: upward ({src} floor {FLOOR[src]} -> {dst} floor {FLOOR[dst]})")
        elif FLOOR[dst] == FLOOR[src]:
            bad.append(f"{arrow}: sideways between siblings {src} and {dst} (move the shared piece down)")
    return bad


def test_no_module_imports_upward():
    arrows = [a for f in library_files() for a in arrows_of(f)]
    assert len(arrows) > 200  # the parser sees the imports at all
    bad = violations(arrows)
    assert not bad, "imports against the layer contract:\n" + "\n".join(bad)


def test_the_library_never_imports_click():
    """click belongs to the face (cli.py, ridermap/cli/): the library raises, the face reports."""
    offenders = [
        str(a)
        for f in library_files()
        for a in arrows_of(f)
        if a.imported.split(".")[0] == "click" and part_of(a.importer) != "face"
    ]
    assert not offenders, "\n".join(offenders)


# --------------------------------------------------------------------------- the checker itself


def _write(tmp_path: Path, rel: str, text: str) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "rel, source, rule",
    [
        # a lazy import inside a function still counts
        ("ridermap/model/x.py", "def f():\n    from ridermap.analysis.network import build\n", "must never exist"),
        ("ridermap/crs.py", "import ridermap.model.bundle\n", "must never exist"),
        ("ridermap/utm.py", "from ridermap.render import poster\n", "upward"),
        ("ridermap/render/x.py", "from ridermap.ingest.survey import read_survey\n", "must never exist"),
        ("ridermap/analysis/x.py", "from ..ingest import osm\n", "sideways"),
        ("ridermap/model/x.py", "import importlib\nimportlib.import_module('ridermap.publish.build')\n", "upward"),
        (
            "ridermap/analysis/x.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ridermap.render.site import X\n",
            "must never exist",
        ),
    ],
)
def test_the_checker_catches_upward_imports(tmp_path, rel, source, rule):
    path = _write(tmp_path, rel, source)
    found = violations(arrows_of(path, tmp_path))
    assert len(found) == 1 and rule in found[0], found


@pytest.mark.parametrize(
    "rel, source",
    [
        ("ridermap/render/x.py", "from ridermap.analysis.routing import plan_routes\nfrom ridermap import urls\n"),
        ("ridermap/model/x.py", "from . import schema\nfrom ridermap.crs import to_wgs84\nimport numpy\n"),
        ("ridermap/publish/x.py", "def f():\n    from ridermap.render.poster import render_poster\n"),
        ("cli.py", "from ridermap.publish.build import build\nfrom ridermap.ingest import bundle_from_sources\n"),
    ],
)
def test_the_checker_lets_downward_imports_pass(tmp_path, rel, source):
    assert violations(arrows_of(_write(tmp_path, rel, source), tmp_path)) == []


def test_relative_imports_resolve_to_modules():
    node = ast.parse("from ..model import bundle, schema\nfrom . import gaps\n").body
    assert _resolve(node[0], "ridermap.render.site", False) == ["ridermap.model.bundle", "ridermap.model.schema"]
    assert _resolve(node[1], "ridermap.analysis", True) == ["ridermap.analysis.gaps"]


def test_agrees_with_the_whiteboard():
    """Our floors and "never" arrows are those of ../shared/docs/whiteboard.json (when it is checked out)."""
    board_path = ROOT.parent / "shared" / "docs" / "whiteboard.json"
    if not board_path.is_file():
        pytest.skip(f"{board_path} is absent (../shared not checked out)")
    board = json.loads(board_path.read_text(encoding="utf-8"))
    never = {(WHITEBOARD_PARTS[a], WHITEBOARD_PARTS[b]) for a, b, _why in board["never"]}
    assert never == set(NEVER)
    for a, b in board["arrows"]:
        if a in WHITEBOARD_PARTS and b in WHITEBOARD_PARTS:  # the rest are ideas, not code yet
            assert FLOOR[WHITEBOARD_PARTS[a]] > FLOOR[WHITEBOARD_PARTS[b]], (a, b)
    for name, part in board["parts"].items():
        for place in part["is"]:
            module = place.rstrip("/").removesuffix(".py").replace("/", ".")
            assert part_of(module) == WHITEBOARD_PARTS[name], place
