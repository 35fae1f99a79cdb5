"""Alembic environment: runs troupe's migrations against the URL set by `store.db`."""

from alembic import context
from sqlalchemy import create_engine, make_url

from troupe.store.tables import Base, describe_for_postgresql

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "troupe.store.db.alembic_config sets sqlalchemy.url"
if make_url(url).get_backend_name() == "postgresql":
    describe_for_postgresql()

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
