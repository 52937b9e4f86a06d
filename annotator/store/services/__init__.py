"""Services: plain functions over a Session, returning frozen dataclasses."""
