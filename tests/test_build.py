"""``ridermap build`` and the executor seam (local processes, Dask)."""

from __future__ import annotations

import json
import operator

import pytest
from click.testing import CliRunner
from conftest import SAMPLE_CONFIG, SAMPLE_ID

from ridermap.publish.executor import LocalExecutor, make_executor


def _square(x):
    return x * x


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_keeps_order_and_reports_progress(workers):
    seen = []
    out = LocalExecutor(workers).map(_square, range(7), on_done=lambda d, t, r: seen.append((d, t)))
    assert out == [x * x for x in range(7)]
    assert sorted(d for d, _ in seen) == list(range(1, 8)) and {t for _, t in seen} == {7}


def test_local_executor_takes_a_generator_and_makes_tasks_only_as_workers_free_up():
    made, seen = [], []

    def items():
        for x in range(20):
            made.append(x)
            yield x

    out = LocalExecutor(2).map(_square, items(), total=20, on_done=lambda d, t, r: seen.append((d, t, len(made))))
    assert out == [x * x for x in range(20)]
    assert [d for d, _, _ in seen] == list(range(1, 21)) and {t for _, t, _ in seen} == {20}
    assert seen[0][2] <= 5  # at most two waiting per worker (and the one in hand) when the first is done


def test_dask_executor_runs_the_same_tasks():
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    from ridermap.publish.executor import DaskExecutor

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            seen = []
            assert ex.map(operator.neg, [1, 2, 3], on_done=lambda d, t, r: seen.append(d)) == [-1, -2, -3]
            assert sorted(seen) == [1, 2, 3]
        finally:
            ex.close()


def _listening_ports() -> set[int]:
    """TCP ports this process and its children listen on."""
    import psutil

    me = psutil.Process()
    ports = set()
    for proc in [me, *me.children(recursive=True)]:
        try:
            ports |= {c.laddr.port for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return ports


def test_dask_local_cluster_honours_workers_opens_no_dashboard_and_closes():
    pytest.importorskip("distributed")

    with make_executor("dask", workers=2) as ex:
        assert len(ex.client.scheduler_info()["workers"]) == 2
        ports = _listening_ports()
        assert ports and 8787 not in ports
        assert ex.map(operator.neg, [1, 2, 3]) == [-1, -2, -3]
        cluster = ex.cluster
    assert ex.client.status == "closed" and cluster.status.name == "closed"


def test_dask_build_with_worker_processes_gives_the_files_of_the_local_build(sample_bundle, sample_config, tmp_path):
    pytest.importorskip("distributed")
    import dataclasses

    from ridermap.publish.build import build

    cfg = dataclasses.replace(sample_config, workers=2)  # every output, per-compound gap maps included
    seen_ports: list[set[int]] = []
    dask = build(
        sample_bundle,
        tmp_path / "dask",
        config=dataclasses.replace(cfg, executor="dask"),
        on_done=lambda *_: seen_ports.append(_listening_ports()),
    )
    local = build(sample_bundle, tmp_path / "local", config=dataclasses.replace(cfg, workers=1))
    assert dask.exit_code == 0 and local.exit_code == 0
    assert seen_ports and all(8787 not in p for p in seen_ports)

    def tree(root):
        return {
            p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*")
            if p.is_file() and p.name != "build.json"
        }

    import hashlib

    local_files, dask_files = tree(tmp_path / "local"), tree(tmp_path / "dask")
    assert len(local_files) > 100 and {f.split("/")[0] for f in local_files} >= {
        "posters",
        "doorplates",
        "site",
        "gaps",
    }
    assert sorted(dask_files) == sorted(local_files)
    differ = sorted(rel for rel in local_files if dask_files[rel] != local_files[rel])
    assert not differ, f"{len(differ)} files differ, e.g. {differ[:5]}"


def test_unknown_executor():
    from ridermap.errors import ConfigError

    with pytest.raises(ConfigError):
        make_executor("cloud")


def test_build_model_and_validation(tmp_path):
    from cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", str(SAMPLE_CONFIG), "-o", str(out), "--only", "gpkg", "--only", "validation"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "ridermap.gpkg").is_file()
    assert json.loads((out / "validation.json").read_text(encoding="utf-8")) == []  # the sample compound is clean
    from ridermap.ingest import bundle_from_sources

    again = bundle_from_sources([out / "ridermap.gpkg"])
    assert SAMPLE_ID in again.community_ids() and len(again.units) == 26


def test_build_with_a_bad_config_is_one_line(tmp_path):
    from cli import main

    cfg = tmp_path / "ridermap.toml"
    cfg.write_text('[project]\nlanguage = "fr"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(cfg), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "language must be 'zh' or 'en'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_full_build_writes_every_output_and_a_rebuild_drops_stale_files(tmp_path, sample_bundle):
    from cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["-q", "build", str(SAMPLE_CONFIG), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    gates = sorted(sample_bundle.gates["id"])
    assert sorted(p.stem for p in (out / "posters" / SAMPLE_ID).glob("*.pdf")) == gates + [f"{SAMPLE_ID}-overview"]
    plates = out / "doorplates" / SAMPLE_ID
    verification = json.loads((plates / "verification.json").read_text(encoding="utf-8"))
    assert verification["failed"] == 0 and verification["pdf"] == "doorplates-small-A4.pdf"
    assert verification["verified"] == len(sample_bundle.units) + len(sample_bundle.buildings) + len(gates)
    assert {p.stem for p in (out / "site" / "u").glob("*.html")} == set(sample_bundle.units["id"])
    assert (out / "site" / "index.html").is_file() and (out / "site" / "c" / f"{SAMPLE_ID}.html").is_file()
    assert {"units.csv", "summary.csv", "sites.csv", "gaps.gpkg", "gaps.html"} <= {
        p.name for p in (out / "gaps").iterdir()
    }

    # a unit and a gate that are gone must not keep their page and poster; outputs not rebuilt are kept
    stale = [out / "site" / "u" / f"{SAMPLE_ID}-b99-u1.html", out / "posters" / SAMPLE_ID / f"{SAMPLE_ID}-gn9.pdf"]
    for f in stale:
        f.write_text("old", encoding="utf-8")
    gpkg_before = (out / "ridermap.gpkg").read_bytes()
    plates_before = sorted(p.relative_to(out) for p in (out / "doorplates").rglob("*"))
    result = CliRunner().invoke(
        main, ["-q", "build", str(SAMPLE_CONFIG), "-o", str(out), "--only", "posters", "--only", "site"]
    )
    assert result.exit_code == 0, result.output
    assert not any(f.exists() for f in stale)
    assert (out / "ridermap.gpkg").read_bytes() == gpkg_before
    assert sorted(p.relative_to(out) for p in (out / "doorplates").rglob("*")) == plates_before
    assert len(list((tmp_path / ".out.builds").iterdir())) == 1, "the previous build folder is deleted after the switch"


def test_a_shipping_task_needs_no_access_to_the_build_folder(sample_bundle, sample_config, tmp_path):
    """What a Dask worker on another machine runs: files come back as bytes, nothing is written to staging."""
    import dataclasses

    from ridermap.publish.build import _community_task, _Task

    cfg = dataclasses.replace(sample_config, outputs=("site",))
    nowhere = tmp_path / "not-on-this-worker"
    record = _community_task(
        _Task(sample_bundle.community(SAMPLE_ID), SAMPLE_ID, str(nowhere), str(nowhere / "w"), cfg, ship=True)
    )
    assert record["status"] == "ok" and not nowhere.exists()
    assert sorted(record["payload"]) == sorted(record["files"]) and f"site/c/{SAMPLE_ID}.html" in record["payload"]
    assert record["payload"][f"site/c/{SAMPLE_ID}.html"].startswith(b"<!")
