"""Cheaper variants of an ONNX model: fp16, int8 dynamic and int8 static (calibrated) quantization.

``make_variant(src, precision, dst, calib_data=...)`` writes the variant to
``dst`` with onnxruntime's own tools: ``float16.convert_float_to_float16``
(inputs and outputs kept float32, so the same data feeds every variant),
``quantize_dynamic`` (int8 weights, activations quantized at run time) and
``quantize_static`` (QDQ format, int8 weights and activations, scales from
a calibration pass over part of the user's data). Converters can crash on
odd models, so the profile engine calls ``make_variant_in_worker``, which
runs ``python -m measure.variants`` in a child process under a time limit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.launcher import (
    StopRequested,
    exit_child,
    last_line,
    run_child,
    write_result,
)

__all__ = [
    "MIN_SCORED_ITEMS",
    "TRANSFORMATIONS",
    "VARIANT_PRECISIONS",
    "calibration_split",
    "main",
    "make_variant",
    "make_variant_in_worker",
    "transformation_text",
    "without_value_info",
]

VARIANT_PRECISIONS: tuple[str, ...] = ("fp16", "int8", "int8-static")
#: How each variant is made, in words; stored as the variant model's ``transformation``.
TRANSFORMATIONS: dict[str, str] = {
    "fp16": "fp16 conversion (onnxruntime float16 converter, float32 inputs/outputs kept)",
    "int8": "int8 dynamic quantization (onnxruntime quantize_dynamic, QInt8 weights)",
    "int8-static": "int8 static quantization (onnxruntime quantize_static, QDQ, "
    "MinMax calibration on {n} items of the evaluation data, items {calib}, which no run "
    "of this profile scores: accuracy is scored on items {scored})",
}
#: Fewest items left to score after int8-static's calibration items are set aside.
MIN_SCORED_ITEMS = 30


def calibration_split(n_items: int, calib_items: int) -> tuple[int, str]:
    """How many of ``n_items`` calibrate int8-static, and the range of the rest, which are scored.

    Calibration takes the first ``calib_items`` items, but never more than
    half, so that at least as many items are scored as calibrated; the
    scored items are the rest (``"64:200"``), disjoint from the calibration
    items, so int8-static is never scored on data it was calibrated on.
    Raises ``InputError`` when fewer than ``MIN_SCORED_ITEMS`` would be
    left to score.
    """
    calib = min(calib_items, n_items // 2)
    scored = n_items - calib
    if calib < 1 or scored < MIN_SCORED_ITEMS:
        raise InputError(
            f"int8-static needs evaluation data to calibrate on and more to score, apart: the "
            f"data has {n_items} item(s), and calibrating on {max(calib, 1)} would leave "
            f"{n_items - max(calib, 1)} to score; at least {MIN_SCORED_ITEMS} must be scored and "
            f"at most half calibrate, so give at least {2 * MIN_SCORED_ITEMS - 1} items, or "
            "leave out int8-static"
        )
    return calib, f"{calib}:{n_items}"


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    # onnxruntime's quantizer logs pre-processing advice on the root logger.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _calibration_feeds(calib_data: Path, n_items: int) -> list[dict[str, np.ndarray]]:
    """One feed per item (batch of one) of the first ``n_items`` items of a normalised ``.npz``."""
    with np.load(calib_data, allow_pickle=False) as data:
        if "input_names" in data.files:
            names = [str(n) for n in data["input_names"]]
        else:
            raise InputError(f"calibration data {calib_data} is not a normalised evaluation set")
        arrays = [data["x" if i == 0 else f"x{i}"] for i in range(len(names))]
    n = min(n_items, len(arrays[0]))
    return [
        {
            name: np.ascontiguousarray(arr[i : i + 1])
            for name, arr in zip(names, arrays, strict=True)
        }
        for i in range(n)
    ]


def without_value_info(src: Path, dst: Path) -> Path:
    """A copy of the ONNX file ``src`` at ``dst`` without intermediate shape annotations.

    Some torch exporters (2.11's, seen on H100 and H200 machines) write
    ``value_info`` shapes that onnx's shape inference, which the quantizer
    runs, then rejects ("Inferred shape and existing shape differ"). The
    annotations are optional: inference recomputes them. ``src`` itself is
    returned when it has none, or keeps its weights in external data files
    (a copy elsewhere would lose them).
    """
    import onnx

    model = onnx.load(str(src), load_external_data=False)
    external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    if external or not len(model.graph.value_info):
        return src
    del model.graph.value_info[:]
    onnx.save(model, str(dst))
    return dst


def make_variant(
    src: str | Path,
    precision: str,
    dst: str | Path,
    *,
    calib_data: str | Path | None = None,
    calib_items: int = 128,
) -> Path:
    """Write the ``precision`` variant of the ONNX model ``src`` to ``dst``; return ``dst``.

    ``calib_data`` (a normalised evaluation ``.npz``) is required for
    ``int8-static``, whose scales come from its first ``calib_items`` items
    (items ``0:calib_items``; the caller scores only the others).
    Raises ``InputError`` for an unknown precision or missing calibration
    data, and ``MeasurementError`` when onnxruntime's tools fail.
    """
    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if precision not in VARIANT_PRECISIONS:
        raise InputError(
            f"cannot make a {precision!r} variant; choose one of {', '.join(VARIANT_PRECISIONS)}"
        )
    try:
        if precision == "fp16":
            import onnx
            from onnxruntime.transformers.float16 import convert_float_to_float16

            model = onnx.load(str(src))
            converted = convert_float_to_float16(model, keep_io_types=True)
            onnx.save(converted, str(dst))
        elif precision == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            with _quiet_root_logger(), tempfile.TemporaryDirectory(prefix="paretoscope-") as tmp:
                # Stale shape annotations of some exporters fail the quantizer's inference.
                bare = without_value_info(src, Path(tmp) / src.name)
                quantize_dynamic(str(bare), str(dst), weight_type=QuantType.QInt8)
        else:
            if calib_data is None:
                raise InputError("int8-static needs calibration data: give evaluation data")
            from onnxruntime.quantization import (
                CalibrationDataReader,
                QuantFormat,
                QuantType,
                quantize_static,
            )

            feeds = _calibration_feeds(Path(calib_data), calib_items)

            class Reader(CalibrationDataReader):
                def __init__(self) -> None:
                    self._it = iter(feeds)

                def get_next(self) -> dict[str, np.ndarray] | None:
                    return next(self._it, None)

            with _quiet_root_logger(), tempfile.TemporaryDirectory(prefix="paretoscope-") as tmp:
                quantize_static(
                    str(without_value_info(src, Path(tmp) / src.name)),
                    str(dst),
                    Reader(),
                    quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8,
                )
    except (InputError, MeasurementError):
        raise
    except Exception as err:
        raise MeasurementError(
            f"onnxruntime could not make the {precision} variant: {type(err).__name__}: {err}"
        ) from err
    if not dst.is_file():
        raise MeasurementError(f"onnxruntime wrote no {precision} variant")
    return dst


def transformation_text(precision: str, calib_items: int = 0, n_items: int = 0) -> str:
    """The ``transformation`` recorded for a variant of ``precision``.

    For int8-static it names the items that calibrated it (the first
    ``calib_items``) and those scored (the rest of ``n_items``).
    """
    return TRANSFORMATIONS[precision].format(
        n=calib_items, calib=f"0:{calib_items}", scored=f"{calib_items}:{n_items}"
    )


def make_variant_in_worker(
    src: str | Path,
    precision: str,
    dst: str | Path,
    *,
    calib_data: str | Path | None = None,
    calib_items: int = 128,
    timeout_s: float = 300.0,
    should_stop: Callable[[], bool] | None = None,
    python: str = sys.executable,
) -> Path:
    """``make_variant`` in a child process; a crash or hang becomes ``MeasurementError``.

    Raises ``InputError`` as ``make_variant`` does, and ``MeasurementError``
    with the reason (exception, signal, exit status or time limit in
    seconds) for everything else; ``StopRequested`` when ``should_stop``
    (asked about every 0.25 s) stopped it.
    """
    dst = Path(dst)
    request: dict[str, Any] = {
        "src": str(src),
        "precision": precision,
        "dst": str(dst),
        "calib_data": str(calib_data) if calib_data is not None else None,
        "calib_items": calib_items,
    }
    outcome = run_child(
        "measure.variants",
        [json.dumps(request)],
        timeout_s=timeout_s,
        env={"OMP_NUM_THREADS": "1"},
        should_stop=should_stop,
        python=python,
    )
    if outcome.killed == "stopped":
        raise StopRequested(f"making the {precision} variant was stopped on request")
    if outcome.killed == "timeout":
        raise MeasurementError(f"making the {precision} variant timed out after {timeout_s:g} s")
    payload = outcome.result if isinstance(outcome.result, dict) else {}
    if payload.get("ok") and dst.is_file():
        return dst
    if payload.get("error"):
        kind = payload.get("kind")
        raise (InputError if kind == "InputError" else MeasurementError)(payload["error"])
    last = last_line(outcome.stderr_tail, 300)
    raise MeasurementError(
        f"making the {precision} variant crashed ({outcome.exit_text}{': ' + last if last else ''})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry: make one variant described by a JSON argument; write the outcome as JSON."""
    parser = argparse.ArgumentParser(prog="python -m measure.variants")
    parser.add_argument("request")
    parser.add_argument("--result", required=True, type=Path)
    args = parser.parse_args(argv)
    req = json.loads(args.request)
    try:
        make_variant(
            req["src"],
            req["precision"],
            req["dst"],
            calib_data=req.get("calib_data"),
            calib_items=int(req.get("calib_items", 128)),
        )
        payload: dict[str, Any] = {"ok": True}
    except (InputError, MeasurementError) as err:
        traceback.print_exc()
        payload = {"ok": False, "kind": type(err).__name__, "error": str(err)}
    write_result(args.result, payload)
    return 0


if __name__ == "__main__":
    exit_child(main)
