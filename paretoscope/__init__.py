"""Paretoscope: measured accuracy-vs-efficiency Pareto frontiers of ML models.

This package holds the pure domain (records, metric registry, frontier, view
state, errors) and the command line. It imports neither torch nor Streamlit.
"""

__version__ = "0.1.0"
