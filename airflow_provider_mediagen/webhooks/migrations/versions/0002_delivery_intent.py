"""A delivery names the submission it answers (``intent_id``), for services without a job list.

Revision ID: mediagen_0002
Revises: mediagen_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mediagen_0002"
down_revision = "mediagen_0001"
branch_labels = None
depends_on = None

TABLE = "mediagen_webhook_delivery"
INDEX = "ix_mediagen_webhook_delivery_intent_id"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "intent_id" not in {c["name"] for c in inspector.get_columns(TABLE)}:
        op.add_column(TABLE, sa.Column("intent_id", sa.String(64), nullable=True))
    if INDEX not in {i["name"] for i in inspector.get_indexes(TABLE)}:
        op.create_index(INDEX, TABLE, ["intent_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("intent_id")
