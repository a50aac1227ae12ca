"""``paretoscope profile --scenario``: parse errors exit 2; scenarios reach the store's columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from measure import testing
from paretoscope.core.errors import InputError
from paretoscope.core.records import from_dict, to_dict
from paretoscope.core.scenarios import SCENARIOS, parse_scenarios
from paretoscope.profiling.request import ProfileRequest, sweep_text
from store import Store
from tests.cli.test_commands import run_cli


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--scenario", "batch"], "--scenario takes a comma list of single-stream, offline, "
         "server; got 'batch'"),
        (["--scenario", "offline,sever"], "got 'sever'"),
        (["--scenario", ""], "got nothing"),
        (["--scenario", "server", "--server-p99-ms", "0"], "--server-p99-ms must be a positive"),
        (["--scenario", "server", "--server-max-batch", "0"], "--server-max-batch must be 1..256"),
        (["--scenario", "server", "--server-max-delay-ms", "-1"], "--server-max-delay-ms"),
    ],
)  # fmt: skip
def test_a_bad_scenario_is_exit_2_with_one_clear_line(
    tmp_path: Path, extra: list[str], needle: str
) -> None:
    db = tmp_path / "s.duckdb"
    code, out, err = run_cli("profile", str(tmp_path / "m.onnx"), *extra, "--store", str(db))
    assert code == 2, err
    assert needle in err and "Traceback" not in err and out == ""
    assert not db.exists()  # refused before the store was opened


def test_a_non_number_bound_is_argparse_s_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from paretoscope.cli.commands import main

    with pytest.raises(SystemExit) as exit_:
        main(["profile", "m.onnx", "--server-p99-ms", "fast"])
    assert exit_.value.code == 2
    assert "--server-p99-ms: invalid float value: 'fast'" in capsys.readouterr().err


def test_scenarios_parse_in_any_order_and_always_include_single_stream() -> None:
    assert parse_scenarios("server, Offline") == SCENARIOS
    assert parse_scenarios("server") == ("single-stream", "server")
    assert parse_scenarios("single-stream") == ("single-stream",)
    with pytest.raises(InputError):
        parse_scenarios("offline,,server")


def test_a_queued_request_keeps_its_scenarios_and_its_title_says_so() -> None:
    from paretoscope.core.scenarios import scenario_request

    sc = scenario_request(parse_scenarios("server"), server_p99_ms=25.0, server_max_batch=4)
    request = ProfileRequest(model_path="m.onnx", scenarios=sc)
    assert from_dict(ProfileRequest, json.loads(json.dumps(to_dict(request)))) == request
    assert sweep_text(request).endswith("single-stream + server")
    old_job = {k: v for k, v in to_dict(request).items() if k != "scenarios"}
    assert from_dict(ProfileRequest, old_job).scenarios is None


def test_profile_with_scenarios_stores_their_metrics_for_frontier_and_runs(tmp_path: Path) -> None:
    x = testing.digits_split()[2]
    model = testing.export_onnx(testing.tiny_mlp(hidden=128), tmp_path / "mlp.onnx", x[:2])
    db = tmp_path / "s.duckdb"
    argv = ["profile", str(model), "--quick", "--store", str(db), "--scenario", "offline,server"]
    code, _, err = run_cli(*argv, "--server-p99-ms", "50", "--offline-max-batch", "8")
    assert code == 0, err
    (rec,) = Store(db).records()
    assert rec.spec.scenarios is not None and rec.spec.scenarios.server_p99_ms == 50.0
    assert rec.scenarios is not None and rec.scenarios.server is not None
    assert rec.scenarios.offline is not None and rec.scenarios.offline.best_batch in (1, 2, 4, 8)
    code, out, err = run_cli("runs", "--store", str(db), "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["server_p99_bound_ms"] == 50.0 and row["offline_best_batch"] in (1, 2, 4, 8)
    assert row["offline_throughput_per_s"] == rec.scenarios.offline.throughput_per_s
    assert row["server_max_qps_at_p99"] == rec.scenarios.server.max_qps_at_p99
    # A metric key like any other: the frontier command takes it.
    code, out, err = run_cli(
        "frontier", "--x", "server_max_qps_at_p99", "--y", "offline_throughput_per_s",
        "--store", str(db), "--format", "json",
    )  # fmt: skip
    assert code == 0, err
