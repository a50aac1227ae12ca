"""The bottom layer: records, errors, the metric registry, time and file sniffing.

Imports nothing of ours; `measure/` and `store/` may import only this part of
the package."""
