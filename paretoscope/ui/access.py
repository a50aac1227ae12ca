"""Who may do what, in the dashboard: sign-in or the profiler token, and the gates on actions.

The rules are ``paretoscope.core.access``; this module finds the session's
role (Streamlit's ``st.user`` with an identity provider, the token entered
once per session without one) and draws the sidebar panel and the refusals.
The token is never stored in the session or sent back to the browser: a
session that entered it keeps only the fact that it did.
"""

from __future__ import annotations

import importlib.util
import os
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from paretoscope.core import access as rules
from paretoscope.core.errors import AccessError
from paretoscope.present.markup import markdown_text

__all__ = ["Access", "current", "require_profiler", "sidebar_panel"]

_UNLOCKED = "paretoscope.access.profiler"  # True once this session entered the token
#: Seconds a wrong token holds its session before it may try again.
WRONG_TOKEN_DELAY_S = 1.0
K = "paretoscope.access"


@dataclass(frozen=True)
class Access:
    """This session's role. ``who`` is stored with its jobs; ``problem`` a config error."""

    mode: rules.Mode
    role: rules.Role
    who: str | None
    config: rules.AccessConfig
    problem: str | None = None
    signed_in: bool = False

    @property
    def profiler(self) -> bool:
        return self.role == rules.PROFILER

    @property
    def quota(self) -> rules.Quota:
        return self.config.quota(self.role)


def _user() -> Any:
    """The signed-in user (``st.user``): the one seam tests replace with a fake."""
    return st.user


def _groups(user: Any, claim: str) -> list[str]:
    value = user.get(claim)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(g) for g in value]
    return []


def current() -> Access:
    """This session's access, from the operator's config and the session's sign-in or token.

    A config that cannot be used makes everyone a viewer (fail closed) and says why.
    """
    try:
        config = rules.load_access_config(os.environ)
    except AccessError as err:
        closed = rules.AccessConfig(mode="token")
        return Access("token", rules.VIEWER, None, closed, problem=str(err))
    if config.mode == "open":
        return Access("open", rules.PROFILER, "local", config)
    if config.mode == "token":
        unlocked = bool(st.session_state.get(_UNLOCKED))
        role = rules.PROFILER if unlocked else rules.VIEWER
        return Access("token", role, "token profiler" if unlocked else None, config)
    user = _user()
    if not user.get("is_logged_in"):
        return Access("oidc", rules.VIEWER, None, config)
    email = user.get("email")
    who = str(email or user.get("sub") or "signed-in user")
    role = rules.role_for_user(config, email, _groups(user, config.groups_claim))
    return Access("oidc", role, who, config, signed_in=True)


def _token_form(access: Access) -> None:
    if access.profiler:
        st.caption(":material/lock_open: Profiler (token entered in this session).")
        if st.button("Forget the token", key=f"{K}.forget"):
            st.session_state[_UNLOCKED] = False
            st.rerun()
        return
    st.caption(":material/visibility: Viewer. Enter the profiler token to upload, run or import.")
    with st.form(f"{K}.form", clear_on_submit=True, border=False):
        entered = st.text_input("Profiler token", type="password", key=f"{K}.token")
        submitted = st.form_submit_button("Unlock", key=f"{K}.unlock")
    if submitted:
        expected = access.config.token or ""
        ok = bool(expected) and rules.token_matches(entered or "", expected)
        st.session_state[_UNLOCKED] = ok
        if ok:
            st.rerun()
        time.sleep(WRONG_TOKEN_DELAY_S)  # slows guessing down, in this session at least
        st.error("Wrong token: this session stays a viewer.")


def _oidc_panel(access: Access) -> None:
    if access.signed_in:
        st.caption(f"Signed in as {markdown_text(access.who)}: {access.role}.")
        if st.button("Sign out", key=f"{K}.logout"):
            st.logout()
        return
    st.caption(":material/visibility: Viewer. Sign in to upload, run or import.")
    if importlib.util.find_spec("authlib") is None:
        st.error(
            "Sign-in is configured but cannot work: the server needs `Authlib>=1.3.2` "
            "(`pip install Authlib` where Paretoscope runs). Until then everyone is a viewer."
        )
        return
    if st.button("Sign in", key=f"{K}.login"):
        try:
            if access.config.provider:
                st.login(access.config.provider)
            else:
                st.login()
        except Exception as err:
            st.error(
                f"Sign-in is not available: {markdown_text(err)}. The server needs "
                "`Authlib>=1.3.2` "
                "installed "
                "and an [auth] section in its secrets.toml (docs/access.md)."
            )


def sidebar_panel() -> Access:
    """The sidebar's access panel: the role, and how to become a profiler; returns the access."""
    access = current()
    if access.problem:
        st.error(
            "**Access settings cannot be used**; everyone is a viewer. "
            + markdown_text(access.problem)
        )
    elif access.mode == "open":
        st.caption(
            ":material/warning: No access control: anyone who reaches this port is a "
            "profiler (may upload and run models, import, delete). Set a profiler token or "
            "an identity provider before exposing it (docs/access.md)."
        )
    elif access.mode == "token":
        _token_form(access)
        access = current()
    else:
        _oidc_panel(access)
    return access


def _how(access: Access) -> str:
    if access.problem:
        return "The server's access settings are broken; the operator must fix them."
    if access.mode == "token":
        return "Enter the profiler token in the sidebar (the operator has it)."
    if access.mode == "oidc" and not access.signed_in:
        return "Sign in (sidebar); the operator maps accounts and groups to roles."
    return (
        f"You are signed in as a {access.role}; ask the operator to map your account or a "
        f"group of yours to profiler in the access file (${rules.ACCESS_ENV})."
    )


def require_profiler(action: str, access: Access | None = None) -> bool:
    """Whether this session may ``action`` (e.g. "Uploading a model"); if not, say why and how."""
    access = access or current()
    if access.profiler:
        return True
    st.info(f":material/lock: {action} needs the profiler role. {_how(access)}")
    return False
