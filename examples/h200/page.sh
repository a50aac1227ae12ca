# Issue 14: the Profile page on the H200 offers cuda:0 and a job submitted there runs on it;
# then a screenshot of the page (Debian's Chromium, carried in .chr1/.chr2 with its libraries).
set -o pipefail
R=$PWD
export PYTHONPATH=/root/site:$R HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
mkdir -p /root/chr /root/page && cd /root/chr
[ -d b ] || { cat /root/p/chr.part0 /root/p/chr.part1 > chr.tar.xz && echo "6d73e42b0573ad3ebb5dee13320de3c17e5474d9fee3b89e0e801af897f37af3  chr.tar.xz" | sha256sum -c - && xz -dc chr.tar.xz | tar xf -; }
cd $R
export PARETOSCOPE_GPU_PAGE_STORE=/root/page/store.duckdb
python3 -m pytest -m gpu tests/gpu/test_profile_page_gpu.py -q -s -p no:cacheprovider 2>&1 | grep -v -i debug | tail -8 | tee $OUT/page-test.txt
python3 -m paretoscope runs --store /root/page/store.duckdb --all --format csv > $OUT/page-runs.csv
python3 -m paretoscope serve --store /root/page/store.duckdb --port 8765 --no-demo > $OUT/serve.log 2>&1 &
sleep 12
cat > /root/chr/fonts.conf <<'XML'
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>/root/chr/b/fonts</dir><cachedir>/root/chr/cache</cachedir></fontconfig>
XML
FONTCONFIG_FILE=/root/chr/fonts.conf LD_LIBRARY_PATH=/root/chr/b/lib /root/chr/b/chromium/chromium --headless --no-sandbox \
  --disable-gpu --remote-debugging-port=9222 about:blank > $OUT/chromium.log 2>&1 &
sleep 5
python3 examples/h200/cdp_shot.py http://127.0.0.1:8765 $OUT profile runs
ls -la $OUT
