"""The delivery table as the provider's first version made it.

Revision ID: mediagen_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mediagen_0001"
down_revision = None
branch_labels = None
depends_on = None

TABLE = "mediagen_webhook_delivery"


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):  # made by a receiver before any migration ran
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("conn_id", sa.String(250), nullable=False),
        sa.Column("job_id", sa.String(250), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job", sa.Text, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("service", "conn_id", "job_id", name="mediagen_webhook_delivery_job"),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
