"""The CLI package: the commands the README documents, one error boundary for all, the version, the entry."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import tomllib
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner
from conftest import ROOT, SAMPLE_CONFIG

README = ROOT / "README.md"
SHARED = {"__init__", "boundary", "group", "lang", "options"}  # ridermap/cli modules that are not commands


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def _readme_commands() -> dict[str, set[str]]:
    """Command -> the options its README table row shows (``-o``, ``--paper`` ...)."""
    rows = re.findall(r"^\| `ridermap (\w+) ([^`]*)` \|", README.read_text(encoding="utf-8"), flags=re.M)
    return {name: set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage)) for name, usage in rows}


def test_top_level_cli_py_is_a_thin_entry_to_the_package_group():
    import cli
    import ridermap.cli

    assert cli.main is ridermap.cli.main
    assert len(Path(cli.__file__).read_text(encoding="utf-8").splitlines()) < 20
    entry = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts") if ep.dist.name == "ridermap"}
    assert entry == {"ridermap": "ridermap.cli:main"}


def test_every_command_and_option_of_the_readme_exists():
    from ridermap.cli import main

    documented = _readme_commands()
    assert (
        set(documented)
        == set(main.commands)
        == {"ingest", "init", "survey", "validate", "build", "poster", "doorplates", "site", "gaps", "signs", "export"}
    )
    for name, options in documented.items():
        have = {opt for p in main.commands[name].params for opt in (*p.opts, *p.secondary_opts)}
        assert options <= have, (name, options - have)


def test_build_only_offers_every_output_the_config_knows():
    from ridermap.cli import main
    from ridermap.config import OUTPUTS

    (only,) = [p for p in main.commands["build"].params if p.name == "outputs"]
    assert list(only.type.choices) == list(OUTPUTS) and "signs" in OUTPUTS


def test_one_module_per_command_and_every_one_registered():
    import ridermap.cli
    from ridermap.cli.group import COMMANDS

    modules = sorted(m.name for m in pkgutil.iter_modules(ridermap.cli.__path__) if m.name not in SHARED)
    found = []
    for name in modules:
        module = importlib.import_module(f"ridermap.cli.{name}")
        commands = [
            v
            for v in vars(module).values()
            if isinstance(v, click.Command) and v.callback.__module__ == module.__name__
        ]
        assert len(commands) == 1, (name, commands)
        found.append(commands[0])
    assert sorted(c.name for c in found) == sorted(c.name for c in COMMANDS) == modules


def test_version_is_written_once_and_read_from_the_package_metadata():
    import ridermap

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert ridermap.__version__ == metadata.version("ridermap") == declared
    from ridermap.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output == f"ridermap, version {declared}\n"
    literal = re.compile(rf"['\"]{re.escape(declared)}['\"]")
    assert [p.name for p in (ROOT / "ridermap").rglob("*.py") if literal.search(p.read_text(encoding="utf-8"))] == []


_BROKEN_RUNS = {
    "ingest": ["ingest", "x.osm", "-o", "x.gpkg"],
    "validate": ["validate", "x.osm"],
    "build": ["build", str(SAMPLE_CONFIG), "-o", "out"],
    "poster": ["poster", "x.osm", "--community", "c", "-o", "p.pdf"],
    "doorplates": ["doorplates", "x.osm", "-o", "plates"],
    "site": ["site", "x.osm", "-o", "site"],
    "gaps": ["gaps", "x.osm", "-o", "gaps"],
    "survey": ["survey", "x.osm", "-o", "packs"],
    "init": ["init", "proj", "--from", "x.osm"],
}


@pytest.mark.parametrize("name", sorted(_BROKEN_RUNS))
def test_a_bug_in_any_command_is_one_line_exit_3(name, monkeypatch, tmp_path):
    import ridermap.ingest as ingest_module
    from ridermap.cli import main

    def broken(*a, **kw):
        raise KeyError("boom\nsecond line")

    monkeypatch.setattr(ingest_module, "bundle_from_sources", broken)
    monkeypatch.setattr(ingest_module, "bundle_from_config", broken)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, _BROKEN_RUNS[name])
    assert result.exit_code == 3, result.output
    output = re.sub(r"^ridermap build .* -> out/\n", "", result.output)  # build names what it builds first
    assert _one_line_error(output).startswith("ridermap: error: internal error: KeyError: 'boom")
    assert not any(tmp_path.iterdir()), "nothing written"


def test_the_group_puts_a_future_command_inside_the_boundary_too():
    from ridermap.cli.boundary import Group

    @click.group(cls=Group)
    def group():
        pass

    @group.command()
    def new():
        raise OSError(13, "Permission denied", "/srv/out")

    @group.command()
    def usage():
        raise click.UsageError("give at least one SOURCE")

    result = CliRunner().invoke(group, ["new"])
    assert result.exit_code == 2 and _one_line_error(result.output) == "ridermap: error: /srv/out: Permission denied"
    assert CliRunner().invoke(group, ["usage"]).exit_code == 2  # click's own usage errors pass through


def test_no_source_is_a_usage_error_exit_2(tmp_path):
    from ridermap.cli import main

    result = CliRunner().invoke(main, ["ingest", "-o", str(tmp_path / "x.gpkg")])
    assert result.exit_code == 2 and "give at least one SOURCE (or --config)" in result.output
    zh = CliRunner().invoke(main, ["validate"])
    assert zh.exit_code == 2 and _one_line_error(zh.output) == "ridermap: error: 请至少给出一个 SOURCE（或 --config）"


def test_build_without_config_builds_the_packaged_sample(tmp_path, monkeypatch):
    from ridermap.cli import main
    from ridermap.resources import sample_config

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["-q", "build", "--only", "gpkg"])
    assert result.exit_code == 0, result.output
    assert f"ridermap build {sample_config()} -> out/" in result.output
    assert (tmp_path / "out" / "ridermap.gpkg").is_file()


def _report(compounds, district):
    return SimpleNamespace(
        compounds=compounds,
        district=district,
        files=[Path("a"), Path("b")],
        published=True,
        seconds=1.0,
        errors=0,
        warnings=2,
    )


def test_build_summary_counts_compounds_not_the_failed_district_parts(capsys):
    from ridermap.cli.build import _print_build_summary

    compounds = [{"community": "510104-jhy", "status": "ok", "files": ["x"], "seconds": 1.5, "causes": []}]
    report = _report(compounds, {"gaps": {"status": "failed", "files": 0, "seconds": 0.2, "cause": "disk\nfull"}})
    _print_build_summary(report, "out")
    lines = capsys.readouterr().out.splitlines()
    assert len(report.compounds) == 1, "the report is not changed by printing it"
    assert (
        lines[1].startswith("510104-jhy  ok") and lines[2].startswith("(gaps)      failed") and "disk full" in lines[2]
    )
    assert lines[-1].startswith("1 compounds (0 failed), 2 files in out/ in 1.0 s; validation: 0 errors, 2 warnings")


def test_build_summary_of_a_large_district_shows_only_what_is_not_ok(capsys):
    from ridermap.cli.build import _print_build_summary

    compounds = [
        {"community": f"c{i:02d}", "status": "ok", "files": [], "seconds": 0.1, "causes": []} for i in range(40)
    ]
    compounds[7] = {
        "community": "c07",
        "status": "failed",
        "files": [],
        "seconds": 0.1,
        "causes": ["no font"],
        "where": ["survey.xlsx:units:3"],
    }
    _print_build_summary(_report(compounds, {}), "out")
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:-2]] == ["c07"] and "no font; survey.xlsx:units:3" in out[1]
    assert out[-2] == "... and 39 compounds ok (all in out/build.json)"
    assert out[-1].startswith("40 compounds (1 failed)")


def test_the_library_never_imports_click_nor_the_cli():
    offenders = []
    for path in sorted((ROOT / "ridermap").rglob("*.py")):
        if "cli" in path.relative_to(ROOT / "ridermap").parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.name}: {n}" for n in names if n == "click" or n.startswith(("click.", "ridermap.cli"))
            ]
    assert offenders == []
