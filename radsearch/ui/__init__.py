"""The Streamlit UI (app.py): pages over the search API, no logic of its own."""
