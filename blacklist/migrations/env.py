"""Alembic environment: migrations run on the connection `blacklist init` hands over."""

from alembic import context

from blacklist.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    from blacklist.db import make_engine

    connection = make_engine(config.get_main_option("sqlalchemy.url") or "").connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
