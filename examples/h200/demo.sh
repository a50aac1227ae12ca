# The demo zoo on this machine's GPU (resumes where a previous call stopped), then tiny LMs on CPU and GPU.
set -o pipefail
R=$PWD
export PYTHONPATH=/root/site:$R HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p /root/h200
T0=$(date +%s)
timeout ${DEMO_S:-500} python3 -m paretoscope demo --store /root/h200/store.duckdb --device cuda 2>&1 | tr '\r' '\n' | grep -v elapsed | tail -8 >> $OUT/demo.txt
echo "demo rc=$? after $(( $(date +%s) - T0 )) s" >> $OUT/demo.txt
tail -4 $OUT/demo.txt
