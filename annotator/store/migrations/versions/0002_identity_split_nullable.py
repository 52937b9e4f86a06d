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
_UPDATE = (
    "UPDATE identities SET split = {new} WHERE split {old} AND dataset_id IN "
    "(SELECT id FROM datasets WHERE kind = :kind)"
)


def _rewrite(new: str, old: str) -> None:
    """Every identity of each kind whose split is ``old`` gets ``new`` (``:old`` stands for
    that kind's placeholder)."""
    for kind, placeholder in _OLD_PLACEHOLDER.items():
        statement = sa.text(_UPDATE.format(new=new, old=old))
        op.execute(statement.bindparams(kind=kind, old=placeholder))


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("split", existing_type=sa.String(length=16), nullable=True)
    _rewrite(new="NULL", old="= :old")


def downgrade() -> None:
    _rewrite(new=":old", old="IS NULL")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("split", existing_type=sa.String(length=16), nullable=False)
