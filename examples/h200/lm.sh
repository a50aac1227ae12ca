# Tiny GPT-2-style models (trained here on the built-in text) profiled as causal LMs on CPU and GPU; export.
set -o pipefail
R=$PWD
export PYTHONPATH=/root/site:$R HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
T0=$(date +%s)
[ -d /root/lms ] || python3 -c "
from measure.llm.tiny import build_tiny_family, TINY_LMS
for spec, folder, rep in build_tiny_family('/root/lms', TINY_LMS[:3]): print(spec.name, folder, rep)
" 2>&1 | tail -4 | tee $OUT/lm.txt
for m in tiny-lm-32x1 tiny-lm-64x2 tiny-lm-96x3; do
  python3 -m paretoscope profile /root/lms/$m --task causal-lm --device cuda:0 --precision fp32,fp16,bf16 --prompt-len 32,128 --gen-len 32 --store /root/h200/store.duckdb --name $m 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -3 >> $OUT/lm.txt
  python3 -m paretoscope profile /root/lms/$m --task causal-lm --device cpu --precision fp32,int8 --prompt-len 32,128 --gen-len 32 --store /root/h200/store.duckdb --name $m 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -3 >> $OUT/lm.txt
done
echo "lm took $(( $(date +%s) - T0 )) s" >> $OUT/lm.txt
python3 -m paretoscope runs --store /root/h200/store.duckdb --all --format csv > $OUT/h200-runs.csv 2>&1
python3 -m paretoscope export --out $OUT/h200-demo.parquet --store /root/h200/store.duckdb 2>&1 | tail -2 >> $OUT/lm.txt
tail -12 $OUT/lm.txt
