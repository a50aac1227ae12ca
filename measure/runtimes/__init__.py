"""Runtimes that load and run a model: ONNX Runtime (``ort``) and PyTorch eager (``torch``).

``runtime_for(name)`` imports a runtime's module, and with it its library,
only when asked: importing this package imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import importlib

from measure.runtimes.base import InputSpec, Runtime, Session, concrete_shape, random_batch
from paretoscope.core.errors import InputError, UnavailableError

__all__ = [
    "RUNTIME_MODULES",
    "InputSpec",
    "Runtime",
    "Session",
    "concrete_shape",
    "random_batch",
    "runtime_for",
]

# Dotted paths, so that naming a runtime never imports its library.
RUNTIME_MODULES: dict[str, str] = {
    "ort": "measure.runtimes.ort:OrtRuntime",
    "torch": "measure.runtimes.torch_eager:TorchEagerRuntime",
}


def runtime_for(name: str) -> Runtime:
    """The runtime called ``name`` (``ort`` or ``torch``), importing its library.

    Raises ``InputError`` for an unknown name and ``UnavailableError`` when
    its library is not installed.
    """
    try:
        target = RUNTIME_MODULES[name]
    except KeyError:
        raise InputError(
            f"unknown runtime {name!r}; choose one of: {', '.join(RUNTIME_MODULES)}"
        ) from None
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UnavailableError(
            f"runtime {name!r} needs a library that is not installed here: {err}"
        ) from err
    runtime: Runtime = getattr(module, class_name)()
    return runtime
