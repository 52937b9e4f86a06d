"""Command-line entry points; each exposes ``main(argv=None) -> int``."""
