"""``paenet-export``: database labels + dataset on disk -> a manifest (``docs/manifest.md``)."""
