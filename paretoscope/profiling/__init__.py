"""Profile a model: inspect it safely, plan the sweep, make variants, measure, store.

The public surface used by ``paretoscope profile`` and the job runner; the
browser's uploads live in ``profiling.uploads`` and the demo zoo in
``profiling.demo``. Importing this package imports neither onnx, onnxruntime,
torch nor ``measure``: the Streamlit server may import it.
"""

from paretoscope.core.modelinfo import (
    BUILTIN_DATASETS,
    TASKS,
    BuiltinDataset,
    ModelInfo,
    TensorInfo,
)
from paretoscope.profiling.inspection import (
    inspect_in_worker,
    inspect_torch_in_worker,
    is_torch_target,
)
from paretoscope.profiling.plan import ProfilePlan, VariantStep, plan_profile
from paretoscope.profiling.request import (
    ALLOW_TORCH_UPLOADS_ENV,
    DEFAULT_MAX_RUN_SECONDS,
    DEFAULT_TIMEOUT_S,
    MAX_RUN_SECONDS_ENV,
    PROFILE_PRECISIONS,
    ProfileRequest,
    SweepPoint,
    max_run_seconds,
    sweep_points,
    torch_uploads_allowed,
    validate_options,
)
from paretoscope.profiling.run import ProfileProgress, ProfileSummary, run_profile

__all__ = [
    "ALLOW_TORCH_UPLOADS_ENV",
    "BUILTIN_DATASETS",
    "DEFAULT_MAX_RUN_SECONDS",
    "DEFAULT_TIMEOUT_S",
    "MAX_RUN_SECONDS_ENV",
    "PROFILE_PRECISIONS",
    "TASKS",
    "BuiltinDataset",
    "ModelInfo",
    "ProfilePlan",
    "ProfileProgress",
    "ProfileRequest",
    "ProfileSummary",
    "SweepPoint",
    "TensorInfo",
    "VariantStep",
    "inspect_in_worker",
    "inspect_torch_in_worker",
    "is_torch_target",
    "max_run_seconds",
    "plan_profile",
    "run_profile",
    "sweep_points",
    "torch_uploads_allowed",
    "validate_options",
]
