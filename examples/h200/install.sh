# Join onnxruntime-gpu 1.31.1's parts, check the sha256, install it and the carried wheels into /root/site.
set -e
cd /root/p && cat part0 part1 part2 part3 part4 > ortgpu.tar
echo "bb1132d4bb354c0b968214ffa4d92c8748fd26b56811aba0746ddbb3ca0d7d21  ortgpu.tar" | sha256sum -c -
tar xf ortgpu.tar
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /root/site /root/p/onnxruntime*.whl /root/whl/*.whl 2>&1 | tail -3
