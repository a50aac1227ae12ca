"""Real op-profiled runs for the store, page and browser tests: one MLP, ONNX fp32 and int8.

Measured in this process on CPU (``profile_run`` then ``attach_op_profile``),
with a quick budget: real records with real ONNX Runtime profiles, made in
about a second. Thread settings are restored afterwards.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from measure import testing
from measure.opprofile import attach_op_profile
from measure.profile import THREAD_ENV_VARS, profile_run
from paretoscope.core.records import ModelRef, RunRecord

__all__ = ["profiled_records"]


def profiled_records(root: Path) -> tuple[RunRecord, RunRecord]:
    """(fp32, int8) op-profiled ``ok`` records of one MLP on ONNX Runtime, files under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    x_eval = testing.digits_split()[2]
    model = testing.tiny_mlp(hidden=256)
    testing.export_onnx(model, root / "mlp.onnx", x_eval[:2])
    testing.quantize_onnx_int8(root / "mlp.onnx", root / "mlp-int8.onnx")
    fp32_model = ModelRef("opprof-mlp", "opprof-mlp", "mlp", source="cli")
    int8_model = dataclasses.replace(
        fp32_model,
        model_id="opprof-mlp-int8",
        name="opprof-mlp-int8",
        parent_model_id=fp32_model.model_id,
        transformation="int8 dynamic quantization (onnxruntime)",
    )
    saved = {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    out = []
    try:
        for path, precision, ref in (
            (root / "mlp.onnx", "fp32", fp32_model),
            (root / "mlp-int8.onnx", "int8", int8_model),
        ):
            art = testing.artifact_ref(path, "onnx", precision=precision)
            spec = dataclasses.replace(testing.make_spec(art, "ort"), model=ref, op_profile=True)
            record = attach_op_profile(profile_run(spec, accuracy=False))
            assert record.status == "ok" and record.op_profile is not None, record
            out.append(record)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    return out[0], out[1]
