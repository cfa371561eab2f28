"""控辍保学 ledger core: ingest, metrics, privacy, exports. Pure Python; never imports streamlit."""
