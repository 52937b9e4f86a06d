"""Model suggestions: sources of kind 'model' (with their details), their per-identity and
per-camera suggested values with probabilities, and a note on history rows (e.g. "accepted
suggestion from model source NAME, checkpoint SHA").

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sources_kind"), type_="check")
        batch_op.create_check_constraint("kind", "kind IN ('annotator', 'import', 'model')")
        batch_op.add_column(sa.Column("details", sa.Text(), nullable=True))
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.String(length=32), nullable=False),
        sa.Column("camera", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.CheckConstraint("value IN (0, 1)", name=op.f("ck_suggestions_value")),
        sa.CheckConstraint(
            "probability >= 0 AND probability <= 1", name=op.f("ck_suggestions_probability")
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_suggestions_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_suggestions_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint(
            "source_id",
            "identity_id",
            "attribute",
            "camera",
            name=op.f("uq_suggestions_source_id_identity_id_attribute_camera"),
        ),
    )
    op.create_index(
        "ix_suggestions_identity_source", "suggestions", ["identity_id", "source_id"], unique=False
    )


def downgrade() -> None:
    """Drops the suggestions and the model sources (an older tool cannot read them); the
    labels that people accepted from suggestions stay: they are the people's labels."""
    op.drop_index("ix_suggestions_identity_source", table_name="suggestions")
    op.drop_table("suggestions")
    op.execute(sa.text("DELETE FROM sources WHERE kind = 'model'"))
    with op.batch_alter_table("history", schema=None) as batch_op:
        batch_op.drop_column("note")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("details")
        batch_op.drop_constraint(op.f("ck_sources_kind"), type_="check")
        batch_op.create_check_constraint("kind", "kind IN ('annotator', 'import')")
