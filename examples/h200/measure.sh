# Issue 14: six combinations of one ONNX model on CPU and GPU; then the GPU tests.
set -o pipefail
R=$PWD
export PYTHONPATH=/root/site:$R HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
python3 -c "import onnxruntime as o, duckdb, streamlit, torch; print('ort', o.__version__, o.get_available_providers()); print('duckdb', duckdb.__version__, 'streamlit', streamlit.__version__, 'torch', torch.__version__, torch.cuda.get_device_name(0))" 2>&1 | tee $OUT/env.txt
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv >> $OUT/env.txt
python3 examples/h100/probe.py >> $OUT/env.txt 2>&1
mkdir -p /root/w
python3 -c "
import pathlib
from measure import zoo
m = zoo.build_module('measure.zoo:build_mlp', {'width': 256, 'depth': 2}).eval()
zoo.export_onnx(m, pathlib.Path('/root/w/mlp.onnx'))
" 2>&1 | tail -3
T0=$(date +%s)
python3 -m paretoscope profile /root/w/mlp.onnx --device cpu,cuda:0 --precision fp32,fp16,int8 --store /root/w/s.duckdb --name mlp-w256-d2 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -14 | tee $OUT/profile.txt
echo "profile took $(( $(date +%s) - T0 )) s" >> $OUT/profile.txt
python3 -m paretoscope runs --store /root/w/s.duckdb --all --format csv > $OUT/runs.csv 2>&1
timeout 420 python3 -m pytest -m gpu tests/gpu -q -p no:cacheprovider -x --deselect tests/gpu/test_demo_devices.py 2>&1 | tail -40 > $OUT/gpu-tests.txt
tail -5 $OUT/gpu-tests.txt
