"""The test suite; a package so that ``tests/annotator`` never shadows the ``annotator`` package."""
