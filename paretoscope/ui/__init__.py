"""The only Streamlit code outside `app.py` and the pages: store access, widgets, sharing."""
