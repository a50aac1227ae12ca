# One call on a fresh H200 machine after stage.sh/install.sh: the example bundle's runs, then the GPU tests.
set -o pipefail
R=$PWD
export PYTHONPATH=/root/site:$R HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
S=/root/h200/store.duckdb; mkdir -p /root/h200 /root/w
T0=$(date +%s)
python3 -c "import onnxruntime as o, duckdb, streamlit, torch; print('ort', o.__version__, o.get_available_providers()); print('duckdb', duckdb.__version__, 'streamlit', streamlit.__version__, 'torch', torch.__version__, torch.cuda.get_device_name(0))" 2>&1 | tee $OUT/env.txt
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv >> $OUT/env.txt
python3 examples/h100/probe.py >> $OUT/env.txt 2>&1
# 1. Tiny GPT-2-style language models trained here on the built-in text; causal-LM runs on GPU and CPU.
python3 -c "
from measure.llm.tiny import build_tiny_family, TINY_LMS
for spec, folder, rep in build_tiny_family('/root/lms', TINY_LMS[:3]): print(spec.name, rep)
" 2>&1 | tail -4 | tee $OUT/lm.txt
for m in tiny-lm-32x1 tiny-lm-64x2 tiny-lm-96x3; do
  python3 -m paretoscope profile /root/lms/$m --task causal-lm --device cuda:0 --precision fp32,fp16,bf16 --prompt-len 32,128 --gen-len 32 --store $S --name $m 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -2 >> $OUT/lm.txt
  python3 -m paretoscope profile /root/lms/$m --task causal-lm --device cpu --precision fp32,int8 --prompt-len 32 --gen-len 32 --store $S --name $m 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -2 >> $OUT/lm.txt
done
echo "lm took $(( $(date +%s) - T0 )) s" >> $OUT/lm.txt
# 2. One ONNX classifier at three precisions on the CPU and the GPU (issue 14's six combinations).
python3 -c "
import pathlib
from measure import zoo
m = zoo.build_module('measure.zoo:build_mlp', {'width': 256, 'depth': 2}).eval()
zoo.export_onnx(m, pathlib.Path('/root/w/mlp.onnx'))
" 2>&1 | tail -3
python3 -m paretoscope profile /root/w/mlp.onnx --device cpu,cuda:0 --precision fp32,fp16,int8 --store $S --name mlp-w256-d2 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -4 | tee $OUT/profile.txt
python3 -m paretoscope runs --store $S --all --format csv > $OUT/h200-runs.csv 2>&1
python3 -m paretoscope export --out $OUT/h200-example.parquet --store $S 2>&1 | tail -2 | tee -a $OUT/lm.txt
echo "runs took $(( $(date +%s) - T0 )) s" | tee -a $OUT/lm.txt
# 3. The GPU tests (the Profile page's job on cuda:0 first).
timeout 230 python3 -m pytest -m gpu tests/gpu/test_profile_page_gpu.py tests/gpu/test_op_profile_cuda.py tests/gpu/test_lm_cuda.py tests/gpu/test_lm_quality_gpu.py tests/gpu/test_profile_devices.py tests/gpu/test_serving_gpu.py tests/gpu/test_ort_providers.py tests/gpu/test_cuda_runs.py tests/gpu/test_nvml.py -q -s -p no:cacheprovider 2>&1 | grep -vi debug | tail -40 > $OUT/gpu-tests.txt
grep -h "page offered" $OUT/gpu-tests.txt; tail -4 $OUT/gpu-tests.txt
