"""Engine, sessions and the column types shared by every domain package.

SQLite and concurrent writers: SQLite has one writer at a time. A transaction that starts
by reading (the default, deferred `BEGIN`) and later writes fails at once with "database
is locked" when another connection committed in between: its snapshot is stale and no
busy timeout can help. So every transaction that may write starts with `BEGIN IMMEDIATE`,
which takes the write lock up front and waits for it (the busy timeout) instead of failing;
only transactions declared read-only (`session_scope(write=False)`, used for GET requests)
start deferred and never block writers or each other (WAL). Without this, an import running
next to the sync worker lost 1,999 of 2,000 rows to "database is locked".
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

# Stable constraint names make Alembic migrations reproducible on both PostgreSQL and SQLite.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware on the way in and out; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def modified_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def json_list_field() -> Any:
    return Field(default_factory=list, sa_type=JSON, nullable=False)


# How long a SQLite writer waits for the write lock before giving up, in seconds.
SQLITE_BUSY_TIMEOUT = 30.0

# Whether the transaction about to begin may write (see the module docstring). Set by
# `session_scope`; read when SQLAlchemy begins the connection's transaction.
_may_write: ContextVar[bool] = ContextVar("scenematch_sqlite_may_write", default=True)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
            # The driver's own transaction handling is turned off so that `_begin` decides
            # how each transaction starts (and SAVEPOINTs behave as written).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the database; a power cut may lose the last
            # commits, not a crash of the process. It makes each commit several times cheaper.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write.get() else "BEGIN")

        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(maker: async_sessionmaker[AsyncSession], *, write: bool = True) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the work succeeded, roll back when it raised.

    `write=False` promises the work only reads: on SQLite the transaction then starts
    deferred and waits for no writer (on PostgreSQL it changes nothing).
    """
    _may_write.set(write)
    async with maker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# Rows a bulk load must have written before its statistics are refreshed at once.
BULK_ROWS = 1000


async def after_bulk_load(session: AsyncSession, rows: int) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load of `rows` rows.

    Autovacuum would, but a minute or more later: in between, list pages planned on the
    statistics of an empty table (bench/load.py right after importing 100k listings: the first
    facet count took 0.88 s, and 0.41 s once analysed). SQLite keeps no statistics unless asked
    (`ANALYZE` was never run on it), so its plans do not go stale and it is left alone."""
    if rows >= BULK_ROWS and session.get_bind().dialect.name == "postgresql":
        await session.exec(text("ANALYZE"))  # type: ignore[call-overload]
