"""SQLAlchemy 2 models. The schema is owned by the Alembic migrations in
``annotator/store/migrations`` (linked as ``alembic/`` at the repository root).

Values of a label: 0, 1 or -1 (unknown, see :class:`paenet.attributes.LabelValue`).
``camera = 0`` means identity-wide; a camera number is a per-camera override.
Every labelling party is a :class:`Source`: one per human annotator (kind
``annotator``) and one per import (kind ``import``), so agreement and review treat
people and published files alike, and imports are never mixed with human labels. A
trained model is a source of kind ``model`` whose values live in :class:`Suggestion`,
never in :class:`Label`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

IDENTITY_WIDE = 0

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Dataset(Base):
    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    root: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint("kind IN ('sysu', 'regdb')", name="kind"),)


class Identity(Base):
    __tablename__ = "identities"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    pid: Mapped[int] = mapped_column(Integer)
    split: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """The identity's fixed split (SYSU: train/val/test); NULL where it has none (every
    RegDB identity: its splits are per trial; a SYSU id listed in no split file)."""
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Incremented by every change to this identity's labels or decisions."""
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        UniqueConstraint("dataset_id", "pid"),
        Index("ix_identities_dataset_split_pid", "dataset_id", "split", "pid"),
    )


class Image(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    """Relative to the dataset root, ``/``-separated."""
    camera: Mapped[int] = mapped_column(Integer)
    modality: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        UniqueConstraint("identity_id", "path"),
        Index("ix_images_identity_camera", "identity_id", "camera"),
    )


class Annotator(Base):
    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    annotator_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    origin: Mapped[str | None] = mapped_column(Text)
    """For imports: the file(s) read and the mapping used; for models: the checkpoint."""
    details: Mapped[str | None] = mapped_column(Text)
    """For models: JSON of the checkpoint (path, SHA-256), the manifest it was trained on,
    the calibration and the time of the run (:mod:`annotator.store.services.suggestions`)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint("kind IN ('annotator', 'import', 'model')", name="kind"),)


class Label(Base):
    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(32))
    camera: Mapped[int] = mapped_column(Integer, default=IDENTITY_WIDE)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("identity_id", "attribute", "camera", "source_id"),
        CheckConstraint("value IN (-1, 0, 1)", name="value"),
        Index("ix_labels_source_identity", "source_id", "identity_id"),
    )


class Suggestion(Base):
    """A model's suggested value of one attribute of one identity (camera 0) or camera.

    Kept apart from :class:`Label`: a suggestion is never a label, so agreement, review,
    the decided values and the export's default policy never see it. It becomes a label
    only when a person accepts it (the label is then that person's, signed and noted)."""

    __tablename__ = "suggestions"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(32))
    camera: Mapped[int] = mapped_column(Integer, default=IDENTITY_WIDE)
    value: Mapped[int] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)
    """The (calibrated, when the source says so) probability of value 1."""
    __table_args__ = (
        UniqueConstraint("source_id", "identity_id", "attribute", "camera"),
        CheckConstraint("value IN (0, 1)", name="value"),
        CheckConstraint("probability >= 0 AND probability <= 1", name="probability"),
        Index("ix_suggestions_identity_source", "identity_id", "source_id"),
    )


class Decision(Base):
    """The final value of one attribute of one identity (camera 0) or one camera."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(32))
    camera: Mapped[int] = mapped_column(Integer, default=IDENTITY_WIDE)
    value: Mapped[int] = mapped_column(Integer)
    decided_by: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("identity_id", "attribute", "camera"),
        CheckConstraint("value IN (-1, 0, 1)", name="value"),
    )


class HistoryEntry(Base):
    """Append-only: every change of a label or decision, never updated or deleted."""

    __tablename__ = "history"
    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    """The identity's version after this change."""
    kind: Mapped[str] = mapped_column(String(16))
    attribute: Mapped[str] = mapped_column(String(32))
    camera: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    old_value: Mapped[int | None] = mapped_column(Integer)
    new_value: Mapped[int | None] = mapped_column(Integer)
    annotator_id: Mapped[int | None] = mapped_column(ForeignKey("annotators.id"))
    undoes: Mapped[int | None] = mapped_column(ForeignKey("history.id"))
    note: Mapped[str | None] = mapped_column(Text)
    """Where the value came from when not typed (e.g. an accepted model suggestion)."""
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        CheckConstraint("kind IN ('label', 'decision', 'undo')", name="kind"),
        Index("ix_history_identity_version", "identity_id", "version"),
    )
