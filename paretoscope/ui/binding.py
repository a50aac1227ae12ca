"""One binding of a page's view to its widgets and to the URL, written once for every page.

A page asks for its view with ``bind(FRONTIER)``: the view is read from the
URL (``View.from_query``, which never raises), the notices of ignored
parameters are kept for ``Bound.show_notices``, and ``Bound.publish`` makes the
URL canonical and seeds the widgets' session state (keys ``<prefix>.<name>``)
from the view. Every widget passes ``on_change=bound.sync``: the callback
builds the view back from the widgets (the page's ``Form.build``) and writes
its ``to_query()`` into the URL, which the rerun reads again. So the URL is
the only state a page has, and a link rebuilds the page exactly.

The ``Form`` of each view (``FRONTIER``, ``RUNS``, ``COMPARE``, ``RUN``) says
how widget values map to the view: the URL keys stay those of
``paretoscope.views``, the widget keys those the pages have always used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import pandas as pd
import streamlit as st

from paretoscope.ui import share_panel
from paretoscope.ui.widgets import filter_widgets, filters_from_state, show_notices
from paretoscope.views import CompareView, FrontierView, RunFilters, RunsView, RunView

__all__ = [
    "COMPARE",
    "FRONTIER",
    "RUN",
    "RUNS",
    "Bound",
    "Form",
    "Widgets",
    "bind",
    "query_params",
    "write_query",
]


class _View(Protocol):
    def to_query(self) -> dict[str, str | list[str]]: ...


V = TypeVar("V", bound=_View)


def query_params() -> dict[str, list[str]]:
    """The URL's query parameters, repeated keys kept as lists.

    Leaves out ``view`` (the saved view, which the frame handles for every page).
    """
    share_panel.mark_params_read()
    return {
        key: st.query_params.get_all(key) for key in st.query_params if key != share_panel.VIEW_KEY
    }


def write_query(query: Mapping[str, str | list[str]]) -> None:
    """Make the URL hold ``query`` (a view's ``to_query()``), touching it only when it differs.

    The open saved view (``view=…``) stays in the URL.
    """
    full = dict(query)
    view_id = share_panel.active_view_id()
    if view_id is not None:
        full[share_panel.VIEW_KEY] = view_id
    wanted = {k: [v] if isinstance(v, str) else list(v) for k, v in full.items()}
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(full)


class Widgets:
    """The session state of one page's widgets, by name without the page's key prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __getitem__(self, name: str) -> Any:
        return st.session_state[f"{self.prefix}.{name}"]

    def get(self, name: str, default: Any = None) -> Any:
        return st.session_state.get(f"{self.prefix}.{name}", default)

    def filters(self) -> RunFilters:
        """The run filters the page's ``filter_widgets`` hold now."""
        return filters_from_state(self.prefix)


@dataclass(frozen=True)
class Form(Generic[V]):
    """How one view maps to a page's widgets.

    ``read`` is the view's ``from_query``; ``seed`` gives the widget values of a
    view (by name) that do not depend on the data; ``build`` makes the view the
    widgets hold from them, the view they were seeded from and the name of the
    widget just changed, with notices for anything typed that was ignored.
    """

    prefix: str
    read: Callable[[object], tuple[V, list[str]]]
    seed: Callable[[V], dict[str, Any]]
    build: Callable[[Widgets, V, str], tuple[V, list[str]]]


@dataclass
class Bound(Generic[V]):
    """A page's view as the URL gives it, bound to the page's widgets."""

    form: Form[V]
    view: V
    notices: list[str] = field(default_factory=list)

    def key(self, name: str) -> str:
        """The session-state key of the page's widget ``name``."""
        return f"{self.form.prefix}.{name}"

    def show_notices(self) -> None:
        """One warning listing what of the link was ignored (none when all was used)."""
        show_notices(self.notices)

    def publish(self) -> None:
        """Make the URL the view's canonical link and seed the widgets from the view.

        Widgets whose value depends on the data are seeded by the page (``seed``).
        """
        write_query(self.view.to_query())  # a fixed-up link becomes the canonical one
        self.seed(**self.form.seed(self.view))

    def seed(self, **values: Any) -> None:
        """Set widgets' values (by name) before they are drawn."""
        st.session_state.update({self.key(name): value for name, value in values.items()})

    def sync(self, changed: str = "") -> None:
        """Widget callback: write the view the widgets hold into the URL.

        ``changed`` names the widget that changed, for forms where that matters.
        Notices of what was ignored are kept for ``show_widget_notices``.
        """
        new, notices = self.form.build(Widgets(self.form.prefix), self.view, changed)
        write_query(new.to_query())
        if notices:
            st.session_state[self.key("bad")] = notices

    def show_widget_notices(self, what: str) -> None:
        """Say once what the last change of a widget could not use."""
        show_notices(st.session_state.pop(self.key("bad"), []), what=what)

    def go(self, view: V) -> None:
        """Move the page to another view (the caller reruns)."""
        write_query(view.to_query())

    def filter_widgets(
        self, frame: pd.DataFrame, filters: RunFilters, *, leading: int = 0
    ) -> list[Any]:
        """The run-filter widgets over ``frame``'s values (``widgets.filter_widgets``)."""
        return filter_widgets(frame, filters, self.form.prefix, self.sync, leading=leading)


def bind(form: Form[V]) -> Bound[V]:
    """The page's view read from the URL (with notices of what was ignored), bound to widgets."""
    view, notices = form.read(query_params())
    return Bound(form, view, list(notices))


def _none(value: str) -> str | None:
    return None if value == "none" else value


# -- the pages' forms ----------------------------------------------------------


def _frontier_seed(view: FrontierView) -> dict[str, Any]:
    return {
        "x": view.x,
        "y": view.y,
        "xlog": view.log_x,
        "ylog": view.log_y,
        "dom": view.show_dominated,
        "z": list(view.z),
        "by": view.by or "none",
        "facet": view.facet or "none",
        "lin": view.lineage,
        "bm": view.cost,
        "bv": view.budget,
        "fl": view.floor,
    }


def _frontier_build(w: Widgets, view: FrontierView, changed: str) -> tuple[FrontierView, list[str]]:
    # A new x/y metric drops its old scale override.
    x, y = w["x"], w["y"]
    # The budget follows the x axis unless another cost metric was chosen.
    bm = w["bm"] if w["bm"] not in (view.x, y) else None
    new = FrontierView(
        x=x,
        y=y,
        x_log=None if changed == "x" else w["xlog"],
        y_log=None if changed == "y" else w["ylog"],
        filters=w.filters(),
        show_dominated=w["dom"],
        z=tuple(k for k in w["z"] if k not in (x, y)),
        by=_none(w["by"]),
        facet=_none(w["facet"]),
        lineage=w["lin"],
        budget_metric=bm,
        budget=w["bv"],
        floor=w["fl"],
        selected=view.selected,
    )
    return new, []


FRONTIER: Form[FrontierView] = Form("frontier", FrontierView.from_query, _frontier_seed,
                                    _frontier_build)  # fmt: skip


def _runs_build(w: Widgets, view: RunsView, changed: str) -> tuple[RunsView, list[str]]:
    # Another status or filter starts again at the first page.
    page = int(w.get("page") or 1) if changed == "page" else 1
    return RunsView(status=tuple(w["status"]), filters=w.filters(), page=max(1, page)), []


RUNS: Form[RunsView] = Form(
    "runs",
    RunsView.from_query,
    lambda view: {"status": list(view.status), "page": view.page},
    _runs_build,
)


def _compare_build(w: Widgets, view: CompareView, changed: str) -> tuple[CompareView, list[str]]:
    picked: Sequence[str] = tuple(w["runs"])
    base = w.get("base")
    new = CompareView(
        runs=tuple(picked),
        baseline=base if base in picked else None,
        shift_field=w["sf"],
        a=w.get("sa"),
        b=w.get("sb"),
        x=w["x"],
        y=w["y"] if w["y"] != w["x"] else view.y,
        filters=w.filters(),
    )
    return new, []


COMPARE: Form[CompareView] = Form(
    "compare",
    CompareView.from_query,
    lambda view: {"runs": list(view.runs), "sf": view.shift_field, "x": view.x, "y": view.y},
    _compare_build,
)


def _run_build(w: Widgets, view: RunView, changed: str) -> tuple[RunView, list[str]]:
    # Typed, not picked: an invalid id is dropped with a notice.
    raw = (w["run"] or "").strip()
    return RunView.from_query({"run": raw} if raw else {})


RUN: Form[RunView] = Form("run_detail", RunView.from_query, lambda view: {"run": view.run or ""},
                          _run_build)  # fmt: skip
