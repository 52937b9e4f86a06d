"""PAENet attribute studio: attributes schema, dataset readers, manifests, model, training
and evaluation for visible-infrared person re-identification."""

from importlib import metadata as _metadata

DISTRIBUTION = "paenet-attribute-studio"
try:
    __version__ = _metadata.version(DISTRIBUTION)
except _metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"
