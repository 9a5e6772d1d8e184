"""Applications priced with a product: the version, the schedule method, the plan's totals
and an approver's conditions on the application; its co-applicants and guarantors and the
rows of its plan in tables of their own.

Applications drafted before this revision keep working as they are: every new column is
nullable, and an application without a product version has no plan (``plan`` is null) until
a revision names a product.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")
ID = sa.String(length=32)


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("product_version_id", ID, nullable=True))
        batch.add_column(sa.Column("schedule_method", sa.String(), nullable=True))
        batch.add_column(sa.Column("plan", sa.Text(), nullable=True))
        batch.add_column(sa.Column("conditions", sa.Text(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_applications_product_version_id_product_versions"),
            "product_versions",
            ["product_version_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_applications_product_version_id"), ["product_version_id"])
    op.create_table(
        "application_parties",
        sa.Column("application_id", ID, nullable=False),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_parties_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_application_parties_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("application_id", "customer_id",
                                name=op.f("pk_application_parties")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_application_parties_customer_id"), "application_parties", ["customer_id"]
    )
    op.create_table(
        "application_plan_rows",
        sa.Column("application_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        *(sa.Column(name, AMOUNT, nullable=False)
          for name in ("payment", "principal", "interest", "balance")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_plan_rows_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("application_id", "number",
                                name=op.f("pk_application_plan_rows")),
    )  # fmt: skip


def downgrade() -> None:
    """Back to 0011. Refused while any application is priced or lists another party: 0011
    cannot hold its plan or its parties."""
    bind = op.get_bind()
    priced = bind.scalar(
        sa.text("SELECT count(*) FROM applications WHERE product_version_id IS NOT NULL")
    )
    parties = bind.scalar(sa.text("SELECT count(*) FROM application_parties"))
    if priced or parties:
        raise RuntimeError(
            f"{priced} priced applications and {parties} co-applicants or guarantors are held "
            "that revision 0011 cannot hold; the downgrade would lose them"
        )
    op.drop_table("application_plan_rows")
    op.drop_index(op.f("ix_application_parties_customer_id"), "application_parties")
    op.drop_table("application_parties")
    with op.batch_alter_table("applications") as batch:
        batch.drop_index(op.f("ix_applications_product_version_id"))
        batch.drop_constraint(
            op.f("fk_applications_product_version_id_product_versions"), type_="foreignkey"
        )
        for name in ("conditions", "plan", "schedule_method", "product_version_id"):
            batch.drop_column(name)
