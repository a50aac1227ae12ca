"""What the pages and the CLI show, without Streamlit: charts, tables, exports, text."""
