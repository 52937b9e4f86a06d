"""The annotation store: SQLAlchemy models, Alembic-managed schema, and services.

Services take a :class:`~sqlalchemy.orm.Session` and return frozen dataclasses;
nothing here imports Streamlit, so the app, the exporter and the CLI share it.
"""
