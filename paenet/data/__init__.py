"""Dataset records, readers and official test protocols for SYSU-MM01 and RegDB."""

from paenet.data.errors import DatasetError
from paenet.data.records import Camera, Location, Modality, Sample

__all__ = ["Camera", "DatasetError", "Location", "Modality", "Sample"]
