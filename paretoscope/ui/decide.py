"""The Decide page's Streamlit parts: the decision's editors, the answer, the report downloads.

The decision lives in the URL (``views.decide``): the constraint and filter
rows are ``st.data_editor`` tables whose edits ``build`` applies to the view's
rows, so a link, a saved view and ``paretoscope decide`` ask the same
question. The answer is ``analysis.decide``'s, computed once per (frame,
decision); the report (``present.report``) is built only when downloaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope import __version__
from paretoscope.analysis.decide import (
    DecisionResult,
    decide,
    default_baseline,
    paired_evidence,
    pooling_note,
    where_mask,
)
from paretoscope.core.decision import Constraint, Decision, Objective, Op, Where
from paretoscope.core.errors import InputError
from paretoscope.core.fields import CLI_GROUP_FIELDS, dim_columns
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.decide import decision_axes, decision_chart
from paretoscope.present.charts.spec import vega_lite_spec
from paretoscope.present.markup import markdown_text
from paretoscope.present.report import (
    Report,
    candidates_table,
    near_miss_table,
    provenance,
    report_html,
    report_markdown,
)
from paretoscope.ui.binding import Bound, Form, Widgets
from paretoscope.ui.share_panel import view_link
from paretoscope.ui.widgets import per_frame
from paretoscope.views import DecideView
from store import Store

__all__ = [
    "DECIDE",
    "apply_edits",
    "controls",
    "downloads",
    "editor_key",
    "show_answer",
    "solve",
]

_OPS = ["<=", ">="]
_ANSWERS_KEPT = 8
_BASELINES_OFFERED = 300
_SENSES = {"max": "maximise", "min": "minimise"}


def editor_key(name: str, rows: Sequence[object]) -> str:
    """The widget name of an editor over ``rows``: a new one (fresh edits) when the rows change."""
    digest = hashlib.sha256(repr(tuple(rows)).encode()).hexdigest()[:10]
    return f"{name}.{digest}"


def apply_edits(rows: Sequence[Mapping[str, Any]], state: Mapping[str, Any] | None) -> list[dict]:
    """``rows`` after a data editor's edits (``edited_rows``, ``deleted_rows``, ``added_rows``)."""
    out = [dict(r) for r in rows]
    state = state or {}
    for i, change in (state.get("edited_rows") or {}).items():
        if 0 <= int(i) < len(out):
            out[int(i)].update(change)
    deleted = {int(i) for i in state.get("deleted_rows") or []}
    out = [r for i, r in enumerate(out) if i not in deleted]
    return out + [dict(r) for r in state.get("added_rows") or []]


def _constraints(rows: list[dict], notices: list[str]) -> tuple[Constraint, ...]:
    out = []
    for r in rows:
        metric, limit = r.get("metric"), r.get("limit")
        op: Op = ">=" if r.get("op") == ">=" else "<="  # the editor offers only these two
        if metric is None or limit is None or pd.isna(limit):
            continue  # a row still being filled in
        try:
            out.append(Constraint(str(metric), op, float(limit)))
        except (InputError, ValueError) as err:
            notices.append(f"Ignored the constraint {metric} {op} {limit}: {err}")
    return tuple(out)


def _wheres(rows: list[dict], notices: list[str]) -> tuple[Where, ...]:
    out = []
    for r in rows:
        field, value = r.get("field"), r.get("value")
        if not field or value is None or str(value).strip() == "":
            continue
        try:
            out.append(Where(str(field), str(value).strip()))
        except InputError as err:
            notices.append(f"Ignored the filter {field} = {value}: {err}")
    return tuple(out)


def _require_rows(d: Decision) -> list[dict[str, Any]]:
    return [{"metric": c.metric, "op": c.op, "limit": c.limit} for c in d.require]


def _where_rows(d: Decision) -> list[dict[str, Any]]:
    return [{"field": w.field, "value": w.value} for w in d.where]


def _seed(view: DecideView) -> dict[str, Any]:
    d = view.decision
    return {
        "obj": d.objective.metric,
        "sense": d.objective.sense,
        "then": d.then.metric if d.then else "none",
        "then_sense": d.then.sense if d.then else "min",
        "x": decision_axes(d, view.x)[0],
    }


def _build(w: Widgets, view: DecideView, changed: str) -> tuple[DecideView, list[str]]:
    d = view.decision
    notices: list[str] = []
    require = _constraints(
        apply_edits(_require_rows(d), w.get(editor_key("req", d.require))), notices
    )
    where = _wheres(apply_edits(_where_rows(d), w.get(editor_key("where", d.where))), notices)
    objective = Objective(w["obj"], w["sense"])
    then = None
    if w["then"] not in ("none", objective.metric):
        then = Objective(w["then"], w["then_sense"])
    decision = Decision(require, where, objective, then)
    x = w["x"] if w["x"] != decision_axes(decision)[0] and w["x"] != objective.metric else None
    base = w.get("base") if changed == "base" else view.baseline
    return DecideView(decision, x, base), notices


DECIDE: Form[DecideView] = Form("decide", DecideView.from_query, _seed, _build)


def _metrics_present(runs: pd.DataFrame) -> list[str]:
    """Registry metrics some run of ``runs`` has measured (computed once per frame)."""

    def build() -> list[str]:
        return [k for k in METRICS if k in runs.columns and runs[k].notna().any()]

    out: list[str] = per_frame(runs, "decide.metrics", build)
    return out


def controls(bound: Bound[DecideView], runs: pd.DataFrame) -> None:
    """The decision's editors: constraints, filters, the objective(s) and the chart's x."""
    d, key, sync = bound.view.decision, bound.key, bound.sync
    metrics = list(dict.fromkeys([*_metrics_present(runs), *d.metrics]))
    label = {k: f"{m.label} ({k})" for k, m in METRICS.items()}
    left, right = st.columns(2)
    with left:
        st.markdown("**Hard constraints** (all must hold; add or delete rows)")
        st.data_editor(
            pd.DataFrame(_require_rows(d), columns=["metric", "op", "limit"]),
            key=key(editor_key("req", d.require)),
            on_change=sync,
            args=("req",),
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "metric": st.column_config.SelectboxColumn(
                    "Metric", options=metrics, required=True
                ),
                "op": st.column_config.SelectboxColumn(
                    "", options=_OPS, default="<=", required=True, width="small"
                ),
                "limit": st.column_config.NumberColumn("Limit", required=True, format="%g"),
            },
        )
    with right:
        st.markdown("**Filters** (run field = value; all must hold)")
        fields = [*CLI_GROUP_FIELDS, *dim_columns(runs.columns)]
        st.data_editor(
            pd.DataFrame(_where_rows(d), columns=["field", "value"]),
            key=key(editor_key("where", d.where)),
            on_change=sync,
            args=("where",),
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            column_config={
                "field": st.column_config.SelectboxColumn("Field", options=fields, required=True),
                "value": st.column_config.TextColumn("Value", required=True, max_chars=200),
            },
        )
    c = st.columns([3, 2, 3, 2, 3], vertical_alignment="bottom")
    c[0].selectbox("Objective", metrics, format_func=label.__getitem__, key=key("obj"),
                   on_change=sync)  # fmt: skip
    c[1].radio("Goal", list(_SENSES), format_func=_SENSES.__getitem__, key=key("sense"),
               on_change=sync, horizontal=True)  # fmt: skip
    c[2].selectbox("Then (ties)", ["none", *metrics],
                   format_func=lambda k: "none" if k == "none" else label[k], key=key("then"),
                   on_change=sync)  # fmt: skip
    c[3].radio("Then goal", list(_SENSES), format_func=_SENSES.__getitem__,
               key=key("then_sense"), on_change=sync, horizontal=True)  # fmt: skip
    c[4].selectbox("Chart x axis", metrics, format_func=label.__getitem__, key=key("x"),
                   on_change=sync)  # fmt: skip
    bound.show_widget_notices(what="the decision")


def solve(runs: pd.DataFrame, decision: Decision) -> tuple[DecisionResult, pd.DataFrame]:
    """The answer and the filtered runs, once per (frame, decision): reruns reuse them."""

    def build() -> tuple[DecisionResult, pd.DataFrame]:
        pool = runs[where_mask(runs, decision.where)] if decision.where else runs
        return decide(runs, decision), pool

    # A few answers per frame, shared by sessions; the oldest goes first.
    memo: dict[Decision, tuple[DecisionResult, pd.DataFrame]] = per_frame(runs, "decide", dict)
    if decision not in memo:
        while len(memo) >= _ANSWERS_KEPT:
            memo.pop(next(iter(memo)))
        memo[decision] = build()
    return memo[decision]


def show_answer(result: DecisionResult, pool: pd.DataFrame, view: DecideView) -> None:
    """The recommendation card with its provenance, the chart, the candidates, the near-misses."""
    st.markdown(f"**Question.** {markdown_text(result.decision.question())}")
    rec = result.recommended
    if rec is None:
        st.error(
            f"**Nothing is feasible**: none of the {result.pool} run(s) the filters keep meets "
            "every constraint with every metric measured. The closest are listed below."
        )
    else:
        with st.container(border=True, key="decide-card"):
            obj = METRICS[result.decision.objective.metric]
            st.markdown(
                f"**Recommended run:** `{rec['run_id']}` — "
                + markdown_text(
                    f"{rec['model']} · {rec['runtime']} · {rec['device_name']} · "
                    f"{rec['precision']} · batch {rec['batch_size']}"
                )
            )
            value = candidates_table(result, limit=1).iloc[0, 7]
            st.markdown(
                f"{markdown_text(obj.label)}: **{markdown_text(value)}** · "
                f"{len(result.feasible)} of {result.pool} run(s) feasible"
            )
            pairs = provenance(rec)
            st.dataframe(pd.DataFrame([[v for _, v in pairs]], columns=[k for k, _ in pairs]),
                         hide_index=True)  # fmt: skip
        if result.within_noise:
            st.warning(
                f"**{len(result.within_noise)} runner(s)-up cannot be told apart from it within "
                f"noise** (ranked right after it below). {markdown_text(result.noise_note)}"
            )
        elif len(result.feasible) > 1:
            st.caption(f"No runner-up is within noise of it. {markdown_text(result.noise_note)}")
        if note := pooling_note(result):
            st.info(markdown_text(note))  # values come from the runs: text, never Markdown
    if len(pool):
        chart = decision_chart(pool, result, view.x)
        st.vega_lite_chart(vega_lite_spec(chart), width="stretch")
    st.subheader("Candidates")
    st.dataframe(candidates_table(result, limit=500), hide_index=True)
    st.subheader("Near-misses")
    st.caption("Infeasible runs closest to meeting every constraint, each violation with its size.")
    st.dataframe(near_miss_table(result), hide_index=True)


def downloads(
    bound: Bound[DecideView], store: Store, pool: pd.DataFrame, result: DecisionResult
) -> None:
    """The paired test's baseline, and the decision report's downloads (built when clicked)."""
    view = bound.view
    link = view_link(view.to_query())
    acc = pd.to_numeric(pool["accuracy"], errors="coerce") if "accuracy" in pool else None
    if acc is not None and acc.notna().any():
        # The most accurate runs are offered (labelled once, not every run of a big store).
        top = pool.loc[acc.nlargest(_BASELINES_OFFERED).index]
        names = {
            str(r["run_id"]): f"{r['model']} · {r['runtime']} · {r['precision']}"
            for _, r in top.iterrows()
        }
        options = list(names)
        chosen = view.baseline if view.baseline in names else default_baseline(pool)
        if chosen not in names:
            options.append(str(chosen))
        bound.seed(base=chosen)
        st.selectbox("Baseline of the paired accuracy test (McNemar)", options,
                     format_func=lambda r: f"{names.get(r, r)} ({r})", key=bound.key("base"),
                     on_change=bound.sync, args=("base",))  # fmt: skip

    def report() -> Report:
        base, paired = paired_evidence(pool, result, view.baseline, store.get_record)
        chart = decision_chart(pool, result, view.x).to_dict() if len(pool) else None
        return Report(result, pool, link, paired, base, chart, __version__)

    c = st.columns(2)
    c[0].download_button("Decision report (Markdown)", data=lambda: report_markdown(report()),
                         file_name="decision-report.md", mime="text/markdown",
                         on_click="ignore", key="decide.report.md")  # fmt: skip
    c[1].download_button("Decision report (HTML, offline)", data=lambda: report_html(report()),
                         file_name="decision-report.html", mime="text/html",
                         on_click="ignore", key="decide.report.html")  # fmt: skip
