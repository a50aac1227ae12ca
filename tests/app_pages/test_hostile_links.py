"""Random and hostile query strings on every page: never an exception, a notice for what is ignored.

Each example opens a fresh AppTest session of the whole app (the frame and one
page) with generated query parameters: known keys with bad values, unknown
keys, repeated keys, Streamlit's own keys, markup, SQL, paths, control
characters, very long text. The app must render the page (its title) without
an exception, and a parameter no page knows must be named in a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from paretoscope.views import FRONTIER_KEYS, RUNS_KEYS
from store import Store
from tests.app_pages.hostile import shown
from tests.factories import make_record

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "paretoscope" / "webapp" / "app.py"


def registered_pages() -> list[str]:
    """Every page ``app.py`` registers with ``st.Page`` (so a new page is covered automatically)."""
    return re.findall(r"st\.Page\(\s*\"(app_pages/[a-z_0-9]+\.py)\"", APP.read_text("utf-8"))


KNOWN_KEYS = sorted({*FRONTIER_KEYS, *RUNS_KEYS, "view", "embed", "embed_options", "x", "y"})
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "1e309",
    "NaN",
    "inf",
    "2147483648",
    "99999999999999999999",
    "accuracy",
    "latency_ms_p50",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "'; DROP TABLE runs; --",
    "../../../../etc/passwd",
    "%00",
    "\x00",
    "\u202e\u0301",
    "🙂" * 50,
    "a" * 5000,
    "{{7*7}}",
    "[x](http://evil.example)",
    "000000000000",
    "ffffffffffff",
]
values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=20))
queries = st.dictionaries(
    keys, st.one_of(values, st.lists(values, min_size=1, max_size=4)), max_size=6
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("hostile") / "s.duckdb")
    s.ingest_many(
        [
            make_record(model="a", latency_ms=1.0, accuracy=0.9),
            make_record(model="b", runtime="torch", precision="int8", latency_ms=0.5, accuracy=0.8),
            make_record(model="c", status="failed", error="crashed"),
        ]
    )
    return s


@pytest.fixture(scope="module")
def env(store: Store) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PARETOSCOPE_STORE", str(store.path))
    yield
    mp.undo()


def _open(page: str, query: dict[str, object]) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page != "app_pages/frontier.py":
        at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    return at


@pytest.mark.slow
@pytest.mark.parametrize("page", registered_pages())
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # shrinking whole-app runs takes many minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, unknown=st.text(alphabet="abcdefghij_", min_size=1, max_size=12))
def test_hostile_query_strings_never_break_a_page(
    env: None, page: str, query: dict[str, object], unknown: str
) -> None:
    key = f"zz_{unknown}"  # no page knows a key that starts with zz_
    query = {**query, key: "1"}
    at = _open(page, query)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, f"{page} rendered no title for {query!r}"
    warnings = "\n".join(shown(str(w.value)) for w in at.warning)  # as read: escapes undone
    assert key in warnings, f"{page} did not say it ignored {key!r}: {warnings!r}"
