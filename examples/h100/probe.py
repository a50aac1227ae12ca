"""What the H100 machine is: GPU, driver, CUDA, NVML counters (run there before measuring).

Prints one JSON object; used to write this folder's README. Not a measurement
that is shown anywhere.
"""

from __future__ import annotations

import json
import platform
import time

from measure.devices import nvml as nv
from measure.energy.nvml import NvmlMeter, probe_update_period_s


def main() -> None:
    import onnxruntime
    import torch

    module, reason = nv.load_nvml()
    out: dict[str, object] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "onnxruntime": onnxruntime.__version__,
        "ort_providers": onnxruntime.get_available_providers(),
        "nvml": reason or "ok",
    }
    if module is not None:
        handle = nv.handle_for(module, 0)
        out["gpu"] = nv.gpu_info(module, handle)
        out["state"] = nv.gpu_state(module, handle)[0]

        def read() -> int:
            return int(module.nvmlDeviceGetTotalEnergyConsumption(handle))

        out["energy_period_s"] = [probe_update_period_s(read, timeout_s=2.0) for _ in range(3)]
        e0, t0 = read(), time.perf_counter()
        time.sleep(2.0)
        e1, t1 = read(), time.perf_counter()
        out["idle_power_from_counter_w"] = (e1 - e0) / 1000 / (t1 - t0)
        meter = NvmlMeter(module, handle)
        out["meter_min_window_s"] = meter.min_window_s
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
