"""Packaging: templates and the sample ship as package data, found by importlib.resources in any install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# what a source tree needs to build the wheel (copied: building never writes into the checkout)
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "cli.py", "ridermap", "templates", "data")


def test_resources_are_the_projects_templates_and_sample():
    from ridermap.resources import data_dir, sample_config, templates_dir

    for name in ("base.html.j2", "site.css", "unit.html.j2"):
        assert (templates_dir() / "site" / name).read_bytes() == (ROOT / "templates" / "site" / name).read_bytes()
    assert sample_config().read_bytes() == (ROOT / "data" / "sample" / "ridermap.toml").read_bytes()
    assert (data_dir() / "templates" / "survey_template.xlsx").is_file()


def test_a_missing_resource_package_is_one_clear_error(monkeypatch):
    from ridermap import resources
    from ridermap.errors import RidermapError

    monkeypatch.setitem(sys.modules, "ridermap.templates", None)  # as if the install lost it
    with pytest.raises(RidermapError, match=r"ridermap\.templates resources are missing.*reinstall ridermap"):
        resources.templates_dir()


def test_dependencies_online_extra_and_test_only():
    project = PYPROJECT["project"]
    names = {d.split(">")[0].split("[")[0] for d in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not names & {"osmnx", "requests", "networkx"}
    assert {d.split(">")[0] for d in extras["online"]} == {"osmnx", "requests"}
    assert {"osmnx", "requests", "networkx"} <= {d.split(">")[0] for d in extras["test"]}
    assert project["scripts"] == {"ridermap": "ridermap.cli:main"}
    assert "data-files" not in PYPROJECT["tool"]["setuptools"] and "py-modules" not in PYPROJECT["tool"]["setuptools"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the checkout (no build isolation: the test venv has setuptools)."""
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(item, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(dist),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = dist.glob("ridermap-*.whl")
    return found


def test_wheel_ships_templates_and_sample_in_the_package_and_no_top_level_cli(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    top = {n.split("/")[0] for n in names}
    assert top == {"ridermap", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, top
    for needed in (
        "ridermap/py.typed",
        "ridermap/cli/__init__.py",
        "ridermap/cli/build.py",
        "ridermap/templates/site/base.html.j2",
        "ridermap/templates/site/site.css",
        "ridermap/data/sample/ridermap.toml",
        "ridermap/data/sample/base.osm",
        "ridermap/data/sample/survey.xlsx",
        "ridermap/data/templates/survey_template.xlsx",
    ):
        assert needed in names, needed
    assert not any(n.endswith((".pyc", "make_sample.py", "make_templates.py")) for n in names)
    info = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"
    entry = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "ridermap = ridermap.cli:main" in entry
    requires = [
        line
        for line in zipfile.ZipFile(wheel).read(f"{info}/METADATA").decode().splitlines()
        if line.startswith("Requires-Dist: osmnx")
    ]
    assert requires and all('extra == "online"' in r or 'extra == "test"' in r for r in requires)


def _shipped(folder: Path, package: str) -> set[str]:
    """Wheel names of the files of ``folder`` that must ship as ``package`` (not Python code, not caches)."""
    return {
        f"{package}/{p.relative_to(folder).as_posix()}"
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc")
    }


def test_every_data_file_of_the_package_templates_and_sample_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = (
        _shipped(ROOT / "ridermap", "ridermap")
        | _shipped(ROOT / "templates", "ridermap/templates")
        | _shipped(ROOT / "data" / "sample", "ridermap/data/sample")
        | _shipped(ROOT / "data" / "templates", "ridermap/data/templates")
    )
    assert "ridermap/templates/site/base.html.j2" in wanted and "ridermap/py.typed" in wanted
    assert wanted - names == set(), "add them to [tool.setuptools.package-data] in pyproject.toml"


def test_installed_outside_the_prefix_it_finds_its_templates_and_builds_the_sample(wheel, tmp_path):
    """A wheel installed in a folder of its own (like ``pip install --user``: not under sys.prefix)."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = tmp_path / "run"
    run.mkdir()
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import ridermap, ridermap.resources as r; "
            "print(r.templates_dir()); print(r.sample_config()); print(ridermap.__version__)",
        ],
        cwd=run,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert where == [
        str(site / "ridermap" / "templates"),
        str(site / "ridermap" / "data" / "sample" / "ridermap.toml"),
        PYPROJECT["project"]["version"],
    ]
    built = subprocess.run(
        [str(site / "bin" / "ridermap"), "-q", "build", "--only", "site", "-o", "out"],
        cwd=run,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert (run / "out" / "site" / "index.html").is_file()
    assert (run / "out" / "site" / "assets" / "site.css").read_bytes() == (
        ROOT / "templates" / "site" / "site.css"
    ).read_bytes()
    assert not (run / "cli.py").exists() and "Traceback" not in built.stderr
