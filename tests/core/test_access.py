"""core.access: the access file, the token, role mapping, constant-time compare, quotas."""

from __future__ import annotations

import hmac
from pathlib import Path

import pytest

from paretoscope.core import access
from paretoscope.core.access import (
    PROFILER,
    VIEWER,
    AccessConfig,
    Quota,
    check_job,
    check_upload,
    load_access_config,
    parse_access_config,
    role_for_user,
    token_matches,
)
from paretoscope.core.errors import AccessError, InputError

TOKEN = "correct-horse-battery-staple"

EXAMPLE = """
[oidc]
provider = "corp"
groups_claim = "roles"
default_role = "viewer"

[users]
"Alice@Example.com" = "profiler"
"bob@example.com" = "viewer"

[groups]
"ml-platform" = "profiler"

[quotas.profiler]
runs_per_job = 64
job_time_limit_s = 7200
upload_mb = 200
queued_jobs_per_user = 3
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "access.toml"
    path.write_text(text)
    return str(path)


def test_no_settings_is_open_and_everyone_profiles() -> None:
    config = load_access_config({})
    assert config.mode == "open" and config.token is None
    assert config.quota(PROFILER) == Quota(role=PROFILER, where=config.quota(PROFILER).where)


def test_token_from_env_and_from_file(tmp_path: Path) -> None:
    assert load_access_config({access.TOKEN_ENV: TOKEN}).mode == "token"
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    config = load_access_config({access.TOKEN_FILE_ENV: str(path)})
    assert config.mode == "token" and config.token == TOKEN
    assert TOKEN not in repr(config)  # never in logs or tracebacks


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({access.TOKEN_ENV: "short"}, "at least 12"),
        ({access.TOKEN_ENV: TOKEN, access.TOKEN_FILE_ENV: "/x"}, "not both"),
        ({access.TOKEN_FILE_ENV: "/nonexistent/token"}, "cannot read the profiler token file"),
        ({access.ACCESS_ENV: "/nonexistent/access.toml"}, "cannot read the access file"),
    ],
)
def test_bad_environment_says_what(env: dict[str, str], says: str) -> None:
    with pytest.raises(AccessError, match=says):
        load_access_config(env)


def test_empty_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n")
    with pytest.raises(AccessError, match="is empty"):
        load_access_config({access.TOKEN_FILE_ENV: str(path)})


def test_the_example_file(tmp_path: Path) -> None:
    config = load_access_config({access.ACCESS_ENV: write(tmp_path, EXAMPLE)})
    assert config.mode == "oidc" and config.provider == "corp" and config.groups_claim == "roles"
    quota = config.quota(PROFILER)
    assert (quota.runs_per_job, quota.job_time_limit_s, quota.upload_mb) == (64, 7200.0, 200.0)
    assert quota.queued_jobs_per_user == 3 and "access.toml" in quota.where
    assert config.quota(VIEWER).runs_per_job is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[oidc\n", "not valid TOML"),
        ("colour = 1\n", "unknown key"),
        ("[oidc]\nprovder = 'x'\n", r"\[oidc\]: unknown key\(s\) provder"),
        ("[users]\n'a@b.c' = 'profiler'\n", "need an \\[oidc\\] table"),
        ("[oidc]\n[users]\n'a@b.c' = 'admin'\n", "'admin' is not a role"),
        ("[quotas.admin]\nruns_per_job = 3\n", "not a role"),
        ("[quotas.profiler]\nruns_per_job = 0\n", "quotas.profiler.runs_per_job must be"),
        ("[quotas.profiler]\nruns_per_job = 2.5\n", "whole number"),
        ("[quotas.profiler]\nupload_mb = 'big'\n", "upload_mb must be a number"),
        ("[quotas.profiler]\nmax_runs = 3\n", "unknown key\\(s\\) max_runs"),
        ("[oidc]\ndefault_role = 'root'\n", "oidc.default_role"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(AccessError, match=says):
        load_access_config({access.ACCESS_ENV: write(tmp_path, text)})


def test_oidc_and_token_together_is_refused() -> None:
    with pytest.raises(AccessError, match="use one"):
        parse_access_config({"oidc": {}}, token=TOKEN)


def test_quotas_apply_in_token_mode(tmp_path: Path) -> None:
    path = write(tmp_path, "[quotas.profiler]\nruns_per_job = 2\n")
    env = {access.TOKEN_ENV: TOKEN, access.ACCESS_ENV: path}
    config = load_access_config(env)
    assert config.mode == "token" and config.quota(PROFILER).runs_per_job == 2


def test_role_mapping() -> None:
    config = parse_access_config(
        {
            "oidc": {"default_role": "viewer"},
            "users": {"Alice@Example.com": "profiler", "carol@example.com": "viewer"},
            "groups": {"ml-platform": "profiler", "guests": "viewer"},
        }
    )
    assert role_for_user(config, "alice@example.com") == PROFILER  # e-mail case ignored
    assert role_for_user(config, " ALICE@example.com ") == PROFILER
    assert role_for_user(config, "dave@example.com") == VIEWER  # the default
    assert role_for_user(config, "dave@example.com", ["ml-platform"]) == PROFILER
    assert role_for_user(config, "dave@example.com", ["ML-Platform"]) == VIEWER  # groups exact
    # The highest role wins: a viewer mapping never takes away a group's profiler role.
    assert role_for_user(config, "carol@example.com", ["guests", "ml-platform"]) == PROFILER
    assert role_for_user(config, None) == VIEWER
    generous = parse_access_config({"oidc": {"default_role": "profiler"}})
    assert role_for_user(generous, "anyone@example.com") == PROFILER


def test_token_matches_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1], TOKEN)
    assert not token_matches("", TOKEN)
    assert not token_matches(TOKEN + "x", TOKEN)
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", spy)
    assert not token_matches("x", TOKEN)
    # Compared as equal-length digests, so not even the length shows in the timing.
    assert len(calls) == 1 and len(calls[0][0]) == len(calls[0][1]) == 32


QUOTA = Quota(
    role=PROFILER,
    runs_per_job=8,
    job_time_limit_s=600,
    upload_mb=1,
    queued_jobs_per_user=2,
    where="/etc/paretoscope/access.toml ($PARETOSCOPE_ACCESS)",
)


def test_job_within_quota() -> None:
    check_job(QUOTA, runs=8, repeats=1, run_time_limit_s=75, queued=1)
    check_job(Quota(), runs=10_000, repeats=9, run_time_limit_s=1e6, queued=1000)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"runs": 9, "repeats": 1, "run_time_limit_s": 1, "queued": 0}, "runs_per_job"),
        ({"runs": 4, "repeats": 3, "run_time_limit_s": 60, "queued": 0}, "job_time_limit_s"),
        ({"runs": 1, "repeats": 1, "run_time_limit_s": 1, "queued": 2}, "queued_jobs_per_user"),
    ],
)
def test_job_over_quota_names_the_limit_and_how_to_raise_it(
    kwargs: dict[str, float], key: str
) -> None:
    with pytest.raises(AccessError) as info:
        check_job(QUOTA, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert key in message and "[quotas.profiler]" in message
    assert "/etc/paretoscope/access.toml" in message and "restart" in message
    assert isinstance(info.value, InputError)  # pages show it like any refused input


def test_upload_quota() -> None:
    check_upload(QUOTA, "m.onnx", 2**20)
    with pytest.raises(AccessError, match=r"refused m\.onnx: it is 1\.5 MB.*upload_mb = 1"):
        check_upload(QUOTA, "m.onnx", 3 * 2**19)
    check_upload(Quota(), "m.onnx", 10**12)


def test_default_where_names_the_env() -> None:
    assert "$PARETOSCOPE_ACCESS" in AccessConfig().quota(PROFILER).where
