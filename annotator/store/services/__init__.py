"""Services: plain functions over a Session, returning frozen dataclasses.

``records`` (what they return), ``lookups`` (rows by name), ``annotators``, ``names``,
``validation``; labels: ``label_reads``, ``label_writes`` (key batches too) and
``label_policy`` (which value a reader of the labels takes); ``datasets``, ``queue``,
``suggestions``, ``agreement``, ``stats``.
"""
