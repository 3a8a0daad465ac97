"""Several API servers and retention: the feed's cursor and pruning indexes, and signed deliveries'
message ids kept in the database (a replay is refused by every server).

Revision ID: mediagen_0003
Revises: mediagen_0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mediagen_0003"
down_revision = "mediagen_0002"
branch_labels = None
depends_on = None

TABLE = "mediagen_webhook_delivery"
MESSAGES = "mediagen_webhook_message"
INDEXES = {"mediagen_webhook_delivery_changes": ["service", "conn_id", "updated_at", "id"],
           "mediagen_webhook_delivery_age": ["updated_at"]}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = {i["name"] for i in inspector.get_indexes(TABLE)}
    for name, columns in INDEXES.items():
        if name not in have:
            op.create_index(name, TABLE, columns)
    if not inspector.has_table(MESSAGES):
        op.create_table(
            MESSAGES,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("service", sa.String(32), nullable=False),
            sa.Column("conn_id", sa.String(250), nullable=False),
            sa.Column("message_id", sa.String(250), nullable=False),
            sa.Column("received_at", sa.Float, nullable=False),
            sa.UniqueConstraint("service", "conn_id", "message_id", name="mediagen_webhook_message_once"),
        )
        op.create_index("ix_mediagen_webhook_message_received_at", MESSAGES, ["received_at"])


def downgrade() -> None:
    op.drop_table(MESSAGES)
    for name in INDEXES:
        op.drop_index(name, table_name=TABLE)
