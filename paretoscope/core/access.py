"""Who may do what: roles, the operator's access config, token checks, role mapping, quotas.

Two roles. A *viewer* browses, shares and saves views; a *profiler* may also
upload models, run and cancel jobs, import bundles, delete saved views and
start the demo. Which applies is the operator's choice, in one of three modes:

- ``oidc``: an identity provider signs people in (Streamlit's ``st.login``);
  the access file maps users (e-mail) and groups (a claim) to roles;
- ``token``: ``$PARETOSCOPE_PROFILER_TOKEN`` (or a file named by
  ``$PARETOSCOPE_PROFILER_TOKEN_FILE``) makes a session that enters it a
  profiler; everyone else is a viewer;
- ``open``: neither; everyone who reaches the port is a profiler.

The access file (TOML, named by ``$PARETOSCOPE_ACCESS``) also sets per-role
quotas. Pure: reads only the files the environment names; no Streamlit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from paretoscope.core.errors import AccessError

__all__ = [
    "ACCESS_ENV",
    "PROFILER",
    "ROLES",
    "TOKEN_ENV",
    "TOKEN_FILE_ENV",
    "VIEWER",
    "AccessConfig",
    "Mode",
    "Quota",
    "Role",
    "check_job",
    "check_upload",
    "load_access_config",
    "parse_access_config",
    "role_for_user",
    "token_matches",
]

ACCESS_ENV: Final = "PARETOSCOPE_ACCESS"
TOKEN_ENV: Final = "PARETOSCOPE_PROFILER_TOKEN"
TOKEN_FILE_ENV: Final = "PARETOSCOPE_PROFILER_TOKEN_FILE"
#: A token shorter than this is refused: it could be guessed.
MIN_TOKEN_CHARS: Final = 12

Role = Literal["viewer", "profiler"]
Mode = Literal["oidc", "token", "open"]
VIEWER: Final[Role] = "viewer"
PROFILER: Final[Role] = "profiler"
ROLES: Final[tuple[Role, ...]] = (VIEWER, PROFILER)

_QUOTA_KEYS: Final = ("runs_per_job", "job_time_limit_s", "upload_mb", "queued_jobs_per_user")
_OIDC_KEYS: Final = ("provider", "groups_claim", "default_role")
_TOP_KEYS: Final = ("oidc", "users", "groups", "quotas")


@dataclass(frozen=True)
class Quota:
    """One role's limits; None is no limit.

    ``runs_per_job``: runs one job may measure. ``job_time_limit_s``: the
    longest a job may take at worst, its runs × repeats × per-run time
    limit (s). ``upload_mb``: the largest upload (MB of 2^20 bytes).
    ``queued_jobs_per_user``: a user's queued or running jobs at once.
    ``where`` says where the limits are set, for refusal messages.
    """

    role: Role = PROFILER
    runs_per_job: int | None = None
    job_time_limit_s: float | None = None
    upload_mb: float | None = None
    queued_jobs_per_user: int | None = None
    where: str = f"the access file named by ${ACCESS_ENV}"

    def refusal(self, what: str, key: str) -> AccessError:
        """The error for ``what`` over the limit ``key``, saying how to raise it."""
        return AccessError(
            f"{what}, over the {self.role} role's limit {key} = {getattr(self, key):g}. "
            f"An operator raises it under [quotas.{self.role}] in {self.where}; "
            "then restart `paretoscope serve`."
        )


@dataclass(frozen=True)
class AccessConfig:
    """The operator's settings, checked. ``token`` is never shown; ``source`` is the file."""

    mode: Mode = "open"
    token: str | None = field(default=None, repr=False)
    provider: str | None = None
    groups_claim: str = "groups"
    default_role: Role = VIEWER
    users: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, Role] = field(default_factory=dict)
    quotas: Mapping[Role, Quota] = field(default_factory=dict)
    source: str | None = None

    def quota(self, role: Role) -> Quota:
        """The limits of ``role`` (no limits where the file sets none)."""
        return self.quotas.get(role) or Quota(role=role, where=self._where())

    def _where(self) -> str:
        return f"{self.source} (${ACCESS_ENV})" if self.source else f"a file named by ${ACCESS_ENV}"


def _role(value: Any, where: str) -> Role:
    if value == VIEWER:
        return VIEWER
    if value == PROFILER:
        return PROFILER
    raise AccessError(f"{where}: {value!r} is not a role; use {VIEWER!r} or {PROFILER!r}")


def _unknown(table: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    extra = sorted(set(table) - set(known))
    if extra:
        raise AccessError(
            f"{where}: unknown key(s) {', '.join(extra)}; expected {', '.join(known)}"
        )


def _number(value: Any, where: str, *, whole: bool) -> float:
    ok = isinstance(value, int) if whole else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value) or value <= 0:
        kind = "a whole number" if whole else "a number"
        raise AccessError(f"{where} must be {kind} > 0 (got {value!r})")
    return float(value)


def _quotas(table: Any, src: str) -> dict[Role, Quota]:
    if not isinstance(table, dict):
        raise AccessError(f"{src}: [quotas] must be a table of roles")
    out: dict[Role, Quota] = {}
    for name, limits in table.items():
        role = _role(name, f"{src}: [quotas.{name}]")
        if not isinstance(limits, dict):
            raise AccessError(f"{src}: [quotas.{name}] must be a table")
        _unknown(limits, _QUOTA_KEYS, f"{src}: [quotas.{name}]")
        vals = {
            k: _number(v, f"{src}: quotas.{name}.{k}", whole=k in ("runs_per_job",
                                                                    "queued_jobs_per_user"))
            for k, v in limits.items()
        }  # fmt: skip
        out[role] = Quota(
            role=role,
            runs_per_job=int(vals["runs_per_job"]) if "runs_per_job" in vals else None,
            job_time_limit_s=vals.get("job_time_limit_s"),
            upload_mb=vals.get("upload_mb"),
            queued_jobs_per_user=(
                int(vals["queued_jobs_per_user"]) if "queued_jobs_per_user" in vals else None
            ),
            where=f"{src} (${ACCESS_ENV})",
        )
    return out


def _mapping(table: Any, name: str, src: str, *, lower: bool) -> dict[str, Role]:
    if not isinstance(table, dict):
        raise AccessError(f'{src}: [{name}] must be a table of "name" = "role"')
    return {
        (k.strip().lower() if lower else k): _role(v, f"{src}: {name}.{k}")
        for k, v in table.items()
    }


def parse_access_config(
    data: Mapping[str, Any], *, token: str | None = None, source: str = "the access file"
) -> AccessConfig:
    """The checked config from a parsed access file and the profiler token (if any).

    Raises ``AccessError`` naming the key for anything unknown or ill-typed,
    a user or group mapping without ``[oidc]``, or both ``[oidc]`` and a token.
    """
    _unknown(data, _TOP_KEYS, source)
    oidc = data.get("oidc")
    users = _mapping(data.get("users", {}), "users", source, lower=True)
    groups = _mapping(data.get("groups", {}), "groups", source, lower=False)
    quotas = _quotas(data.get("quotas", {}), source)
    if oidc is None:
        if users or groups:
            raise AccessError(
                f"{source}: [users] and [groups] map signed-in people to roles, so they need "
                "an [oidc] table (an identity provider); without one, use a profiler token"
            )
        mode: Mode = "token" if token is not None else "open"
        return AccessConfig(mode=mode, token=token, quotas=quotas, source=source)
    if not isinstance(oidc, dict):
        raise AccessError(f"{source}: [oidc] must be a table")
    _unknown(oidc, _OIDC_KEYS, f"{source}: [oidc]")
    if token is not None:
        raise AccessError(
            f"{source} configures an identity provider ([oidc]) and a profiler token is set "
            f"too (${TOKEN_ENV} or ${TOKEN_FILE_ENV}); use one: unset the token, or remove [oidc]"
        )
    provider = oidc.get("provider")
    claim = oidc.get("groups_claim", "groups")
    for key, value in (("provider", provider), ("groups_claim", claim)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise AccessError(f"{source}: oidc.{key} must be a non-empty string")
    return AccessConfig(
        mode="oidc",
        provider=provider,
        groups_claim=str(claim),
        default_role=_role(oidc.get("default_role", VIEWER), f"{source}: oidc.default_role"),
        users=users,
        groups=groups,
        quotas=quotas,
        source=source,
    )


def _token(env: Mapping[str, str]) -> str | None:
    value, path = env.get(TOKEN_ENV), env.get(TOKEN_FILE_ENV)
    if value and path:
        raise AccessError(f"set ${TOKEN_ENV} or ${TOKEN_FILE_ENV}, not both")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise AccessError(
                f"cannot read the profiler token file ${TOKEN_FILE_ENV}: {err}"
            ) from err
        where = f"the file {path} (${TOKEN_FILE_ENV})"
    else:
        where = f"${TOKEN_ENV}"
    if value is None or value == "":
        if path:
            raise AccessError(f"{where} is empty; put the profiler token in it")
        return None
    if len(value) < MIN_TOKEN_CHARS:
        raise AccessError(
            f"the profiler token in {where} has {len(value)} characters; use at least "
            f"{MIN_TOKEN_CHARS} (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)"
        )
    return value


def load_access_config(env: Mapping[str, str]) -> AccessConfig:
    """The operator's config from ``env``: the access file, the token or its file.

    Neither set: mode ``open``. Raises ``AccessError`` for a file that cannot
    be read or parsed (with the line), or any problem ``parse_access_config`` finds.
    """
    token = _token(env)
    path = env.get(ACCESS_ENV)
    if not path:
        return AccessConfig(mode="token" if token is not None else "open", token=token)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise AccessError(f"cannot read the access file ${ACCESS_ENV} ({path}): {err}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise AccessError(
            f"the access file {path} (${ACCESS_ENV}) is not valid TOML: {err}"
        ) from err
    return parse_access_config(data, token=token, source=path)


def token_matches(entered: str, expected: str) -> bool:
    """Whether ``entered`` is the token, in time independent of where they differ.

    Both are hashed first so that neither the length nor a common prefix shows
    in the timing; ``hmac.compare_digest`` then compares the digests.
    """
    a = hashlib.sha256(entered.encode("utf-8")).digest()
    b = hashlib.sha256(expected.encode("utf-8")).digest()
    return hmac.compare_digest(a, b)


def role_for_user(config: AccessConfig, email: str | None, groups: Iterable[str] = ()) -> Role:
    """A signed-in user's role: the highest of their e-mail's and groups' roles, or the default."""
    found: list[Role] = []
    if email and email.strip().lower() in config.users:
        found.append(config.users[email.strip().lower()])
    found.extend(config.groups[g] for g in groups if g in config.groups)
    if not found:
        return config.default_role
    return PROFILER if PROFILER in found else VIEWER


def check_job(
    quota: Quota, *, runs: int, repeats: int, run_time_limit_s: float, queued: int
) -> None:
    """Refuse a job over ``quota``: ``queued`` is the user's jobs already queued or running.

    Raises ``AccessError`` naming the limit and how to raise it.
    """
    if quota.runs_per_job is not None and runs > quota.runs_per_job:
        raise quota.refusal(f"refused: this job measures {runs} runs", "runs_per_job")
    worst_s = runs * max(repeats, 1) * run_time_limit_s
    if quota.job_time_limit_s is not None and worst_s > quota.job_time_limit_s:
        raise quota.refusal(
            f"refused: this job may take up to {worst_s:g} s ({runs} runs × "
            f"{max(repeats, 1)} repeats × {run_time_limit_s:g} s per run)",
            "job_time_limit_s",
        )
    if quota.queued_jobs_per_user is not None and queued >= quota.queued_jobs_per_user:
        raise quota.refusal(
            f"refused: you have {queued} jobs queued or running already; wait for one to "
            "finish or cancel one",
            "queued_jobs_per_user",
        )


def check_upload(quota: Quota, name: str, size_bytes: int) -> None:
    """Refuse an upload of ``size_bytes`` over the role's ``upload_mb``; ``AccessError`` says so."""
    if quota.upload_mb is not None and size_bytes > quota.upload_mb * 2**20:
        raise quota.refusal(
            f"refused {name}: it is {size_bytes / 2**20:.1f} MB (or more)", "upload_mb"
        )
