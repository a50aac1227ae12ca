# Copy whatever this call carried (one wheel part, or the extra wheels) out of the working tree.
mkdir -p /root/p /root/whl
for d in .ortgpu1 .ortgpu2 .ortgpu3 .ortgpu4 .ortgpu5; do [ -d "$d" ] && cp -n $d/part* /root/p/ 2>/dev/null; done
for d in .chr1 .chr2; do [ -d "$d" ] && for f in $d/part*; do cp -n $f /root/p/chr.$(basename $f); done; done
[ -d .whl ] && cp -n .whl/*.whl /root/whl/ 2>/dev/null
ls /root/p /root/whl | tr '\n' ' '; echo
