"""Pure analysis over a runs frame: frontiers, budgets, comparisons, run detail.

numpy and pandas only: no Streamlit, DuckDB or torch."""
