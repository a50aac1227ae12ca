"""Loaded at start-up by a Streamlit server the LM browser test starts (``PYTHONPATH``).

Installs ``tests.lm_store.install_bridge`` over the records in the JSON file
named by ``PARETOSCOPE_TEST_LM_RECORDS``: the store side of issue 15 (its
run_summary LM columns) is another change; until it is merged, the server
reads the same columns the contract names. Nothing happens without the variable.
"""

from __future__ import annotations

import json
import os

_PATH = os.environ.get("PARETOSCOPE_TEST_LM_RECORDS")
if _PATH:
    from paretoscope.core.records import RunRecord, from_dict
    from tests.lm_store import install_bridge

    with open(_PATH, encoding="utf-8") as fh:
        install_bridge([from_dict(RunRecord, r) for r in json.load(fh)])
