"""Importers of labels. Each import is one named source, one transaction."""
