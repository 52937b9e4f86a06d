"""Identities without a fixed split carry NULL: RegDB's (were 'all') and SYSU ids listed in
no split file (were 'other').

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD_PLACEHOLDER = {"regdb": "all", "sysu": "other"}


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("split", existing_type=sa.String(length=16), nullable=True)
    for kind, placeholder in _OLD_PLACEHOLDER.items():
        op.execute(
            sa.text(
                "UPDATE identities SET split = NULL WHERE split = :old AND dataset_id IN "
                "(SELECT id FROM datasets WHERE kind = :kind)"
            ).bindparams(old=placeholder, kind=kind)
        )


def downgrade() -> None:
    for kind, placeholder in _OLD_PLACEHOLDER.items():
        op.execute(
            sa.text(
                "UPDATE identities SET split = :old WHERE split IS NULL AND dataset_id IN "
                "(SELECT id FROM datasets WHERE kind = :kind)"
            ).bindparams(old=placeholder, kind=kind)
        )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("split", existing_type=sa.String(length=16), nullable=False)
