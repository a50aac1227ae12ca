"""The run-field registry: the lists the pages, the command line and the tables read from it."""

from __future__ import annotations

import pytest

from paretoscope.core.errors import InputError
from paretoscope.core.fields import CLI_GROUP_FIELDS, RUN_FIELDS, VIEW_FIELDS, run_field
from paretoscope.core.metrics import METRICS
from paretoscope.present.runtable import GROUP_FIELDS, RUN_COLUMNS
from paretoscope.views import FIELDS


def test_pages_group_by_the_documented_fields_in_their_order() -> None:
    # The URL's by/facet/sf values (docs/url.md), in the pickers' order.
    assert list(VIEW_FIELDS) == [
        "batch_size", "runtime", "device", "device_name", "precision", "family", "threads", "host",
        "origin", "dataset", "host_id",
    ]  # fmt: skip
    assert FIELDS == VIEW_FIELDS
    assert VIEW_FIELDS["batch_size"] == "Batch size"


def test_cli_groups_by_the_documented_fields_in_their_order() -> None:
    # The order of `paretoscope frontier --by`'s help and of the README.
    assert CLI_GROUP_FIELDS == GROUP_FIELDS == (
        "runtime", "device", "device_name", "host", "precision", "batch_size", "threads",
        "family", "model", "host_id", "origin", "dataset",
    )  # fmt: skip


def test_every_cli_column_is_a_registered_field_or_metric() -> None:
    for column in RUN_COLUMNS:
        assert column in RUN_FIELDS or column in METRICS, column
    assert not set(RUN_FIELDS) & set(METRICS)


def test_headers_default_to_labels() -> None:
    assert run_field("batch_size").header == "Batch"
    assert run_field("host").header == run_field("host").label == "Host"


def test_unknown_field_names_the_valid_ones() -> None:
    with pytest.raises(InputError, match="batch_size"):
        run_field("colour")


def test_symbolic_dimensions_are_fields() -> None:
    assert run_field("dim_seq").label == "seq (dimension)"
    assert run_field("dim_seq").header == "seq"
    with pytest.raises(InputError):
        run_field("dim_")
