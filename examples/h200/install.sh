# Join onnxruntime-gpu 1.31.1's parts, check the sha256, install it and the carried wheels into /root/site.
# Two pip calls: a missing wheel folder must not leave onnxruntime-gpu uninstalled (it did once).
set -e
cd /root/p && cat part0 part1 part2 part3 part4 > ortgpu.tar
echo "bb1132d4bb354c0b968214ffa4d92c8748fd26b56811aba0746ddbb3ca0d7d21  ortgpu.tar" | sha256sum -c -
tar xf ortgpu.tar
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /root/site /root/p/onnxruntime*.whl 2>&1 | tail -3
ls /root/whl/*.whl >/dev/null  # the carried wheels (duckdb, streamlit and what it needs, jsonschema, pytest)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /root/site /root/whl/*.whl 2>&1 | tail -3
python3 -c "import sys; sys.path.insert(0, '/root/site'); import onnxruntime as o; assert 'CUDAExecutionProvider' in o.get_available_providers(), o.get_available_providers()"
