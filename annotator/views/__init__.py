"""The app's pages; each has ``render()`` and calls services, never the database directly."""
