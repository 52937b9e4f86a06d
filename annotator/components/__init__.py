"""Custom Streamlit components written for the studio (no third-party component packages)."""
