"""The `scenematch` command line."""

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.settings import Environment, Settings

app = typer.Typer(help="scenematch：江西省数字经济应用场景供需对接平台", no_args_is_help=True, add_completion=False)
console = Console()
T = TypeVar("T")


def _settings() -> Settings:
    return Settings()


def _run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from backend.kit.db import create_engine, create_sessionmaker, session_scope
    from backend.wiring import install_hooks

    install_hooks()  # the same hooks as in the app (publishing notifies subscribers, …)

    async def _main() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with session_scope(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


async def _ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in the URL if it does not exist yet."""
    import asyncpg

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


def _migrate(settings: Settings) -> None:
    from backend.kit.migrate import upgrade

    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:
        asyncio.run(_ensure_postgres_database(settings.database_url))
    upgrade(settings.database_url)


@app.command()
def migrate() -> None:
    """Create the database if needed and apply every migration."""
    settings = _settings()
    _migrate(settings)
    console.print("[green]数据库已迁移到最新版本[/green]")


@app.command()
def seed(demo: Annotated[bool, typer.Option(help="同时载入演示账号和演示清单")] = False) -> None:
    """Load the taxonomies and public bodies from the seed documents (idempotent)."""
    from backend.seeding import seed_demo, seed_reference_data

    settings = _settings()

    async def work(session: AsyncSession) -> None:
        counts = await seed_reference_data(session)
        console.print(
            f"赛道 {counts['tracks']} 个，场景领域 {counts['domains']} 个，地区 {counts['regions']} 个，新增组织 {counts['organisations']} 个"
        )
        if demo:
            report = await seed_demo(session)
            console.print(f"演示清单：新增 {report.created} 条，更新 {report.updated} 条，错误 {len(report.errors)} 条")

    _run_in_session(settings, work)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


WORKER_HEALTHCHECK_SECONDS = 60


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    workers: Annotated[int | None, typer.Option(help="网页进程数（默认：CPU 核数）", min=1)] = None,
) -> None:
    """Serve the platform with N web processes; one of them at a time writes the index and sends mail.

    The writer is elected among the processes (backend/kit/election.py); every process
    answers from the same index. `--reload` (development) runs a single process.
    """
    import uvicorn

    count = 1 if reload else (workers or _cores())
    if count > 1:
        # One numerical thread per process: N processes on N cores, each with a BLAS pool of N
        # threads, would oversubscribe the cores during matching (set before a process imports numpy).
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(name, "1")
        # Create the index (if there is none) once, before the processes start and open it.
        from backend.app import open_search_engine

        engine = open_search_engine(_settings())
        try:
            engine.ensure_ready()
        except Exception as exc:  # the processes report it (and search answers 503) on their own
            console.print(f"[yellow]搜索引擎未就绪：{exc}[/yellow]")
        finally:
            engine.close()
    uvicorn.run(
        "backend.main:app",
        host=host,
        port=port,
        reload=reload,
        workers=count if count > 1 else None,
        proxy_headers=True,
        # uvicorn kills a worker that does not answer its health ping within 5 s, and a freshly
        # spawned worker answers only once Python and uvicorn are imported: on a busy 2-core
        # machine that took longer, so every worker was killed and restarted and the site never
        # came up (`scenematch demo` included). A hung worker is still replaced, a minute later.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    prepare_only: Annotated[bool, typer.Option(help="只准备数据库，不启动服务")] = False,
) -> None:
    """Run the platform with no server at all: SQLite file, embedded search, the Jiangxi seed data."""
    data_dir = Path(os.environ.get("SCENEMATCH_DATA_DIR", "data/demo"))
    os.environ.setdefault("SCENEMATCH_ENV", Environment.demo.value)
    os.environ.setdefault("SCENEMATCH_DATA_DIR", str(data_dir))
    os.environ.setdefault("SCENEMATCH_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / 'scenematch.db'}")
    settings = _settings()
    _migrate(settings)
    seed(demo=True)
    reindex()
    from backend.seeding import DEMO_ACCOUNTS, DEMO_PASSWORD

    console.print("\n[bold]演示账号[/bold]（密码均为 " + DEMO_PASSWORD + "）：")
    for account in DEMO_ACCOUNTS:
        console.print(f"  {account.email}  {account.display_name}")
    if prepare_only:
        return
    console.print(f"\n平台地址：http://{host}:{port}/  接口文档：http://{host}:{port}/docs\n")
    serve(host=host, port=port, reload=False, workers=None)


@app.command("import")
def import_file(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help=".jsonl、.csv 或 .xlsx 文件")
    ],
    publish: Annotated[bool, typer.Option(help="导入后直接发布")] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="以该撮合专员账号的名义导入（默认第一个管理员）")] = None,
) -> None:
    """Import listings; bad rows are reported with their row numbers, good rows are kept."""
    from sqlmodel import col, select

    from backend.auth.actor import Actor
    from backend.auth.models import Role, User
    from backend.imports.parsing import ImportFileError, parse_listing_file
    from backend.imports.service import import_rows
    from backend.kit.db import after_bulk_load

    settings = _settings()
    try:
        rows, errors = parse_listing_file(path.read_bytes(), path.name, max_rows=settings.max_import_rows)
    except ImportFileError as exc:
        console.print(f"[red]无法导入：{exc}[/red]")
        raise typer.Exit(2) from exc

    async def work(session: AsyncSession):  # type: ignore[no-untyped-def]
        query = select(User).where(col(User.role).in_([Role.admin, Role.matchmaker]), User.is_active == True)  # noqa: E712
        if as_user:
            query = select(User).where(User.email == as_user.strip().lower())
        user = (await session.exec(query.order_by(User.id))).first()
        if user is None:
            console.print("[red]找不到可用的管理员或撮合专员账号，请先运行 scenematch create-user[/red]")
            raise typer.Exit(2)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("导入中", total=len(rows))
            report = await import_rows(
                session,
                actor=Actor(user=user),
                rows=rows,
                parse_errors=errors,
                publish=publish,
                on_progress=lambda n: progress.advance(task, n),
                filename=path.name,
                # Each chunk is kept as soon as it is applied: a long import neither holds
                # SQLite's write lock for minutes (the server's writes wait for it) nor
                # loses the finished chunks if it is interrupted.
                after_chunk=session.commit,
            )
        await after_bulk_load(session, report.created + report.updated)
        return report

    report = _run_in_session(settings, work)
    console.print(
        f"共 {report.total_rows} 行：新增 {report.created}，更新 {report.updated}，"
        f"新建组织 {report.organisations_created}，错误 {len(report.errors)}"
    )
    for error in report.errors:
        field = f"[{error.field}] " if error.field else ""
        console.print(f"  第 {error.row_number} 行：{field}{error.reason}")
    if report.errors:
        raise typer.Exit(1)


@app.command()
def export(
    kind: Annotated[str, typer.Option(help="opportunity 或 offering")] = "opportunity",
    output: Annotated[Path | None, typer.Option(help="输出文件（.jsonl），默认输出到屏幕")] = None,
) -> None:
    """Export published listings as JSON lines in the import format (re-importable)."""
    from backend.auth.actor import ANONYMOUS
    from backend.kit.pagination import PageParams
    from backend.listings.models import ListingKind, ListingStatus
    from backend.listings.presenter import present
    from backend.listings.service import list_listings

    if kind not in ListingKind.__members__:
        console.print("[red]--kind 只能是 opportunity 或 offering[/red]")
        raise typer.Exit(2)
    settings = _settings()

    async def work(session: AsyncSession) -> list[str]:
        lines: list[str] = []
        page = 1
        while True:
            rows, _ = await list_listings(
                session,
                actor=ANONYMOUS,
                kind=ListingKind(kind),
                page=PageParams(page=page, page_size=100),
                statuses=[ListingStatus.published],
            )
            if not rows:
                return lines
            external_ids = {r.id: r.external_id for r in rows}
            for item in await present(session, actor=ANONYMOUS, kind=ListingKind(kind), listings=rows):
                record = {
                    "kind": kind,
                    "external_id": external_ids[item.id] or f"{kind}-{item.id}",
                    "title": item.title,
                    "organisation": item.organisation.name,
                    "region": item.place or (item.region.name if item.region else ""),
                    "description": item.description,
                    "tracks": "、".join([t.name for t in item.tracks] + item.tags),
                    "domains": "、".join(d.name for d in item.domains),
                    "batch": item.batch,
                }
                if kind == "opportunity":
                    record.update(budget=item.budget_text, deadline=item.deadline.isoformat() if item.deadline else "")
                else:
                    record.update(
                        maturity=item.maturity, reference_cases=item.reference_cases, certifications=item.certifications
                    )
                lines.append(json.dumps(record, ensure_ascii=False))
            page += 1

    lines = _run_in_session(settings, work)
    text = "\n".join(lines) + ("\n" if lines else "")
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"已导出 {len(lines)} 条到 {output}")
    else:
        sys.stdout.write(text)


@app.command()
def reindex() -> None:
    """Rebuild the search index from the database (a fresh index is swapped in when complete)."""
    from backend.app import open_search_engine
    from backend.kit.db import create_engine, create_sessionmaker, session_scope
    from backend.kit.election import WriterLock
    from backend.searching.sync import reindex as rebuild

    settings = _settings()

    async def _main() -> int | None:
        # The rebuild is a write: while a running server's writer applies changes to the
        # live index, a rebuild beside it would swap in an index without them.
        database = create_engine(settings.database_url)
        lock = WriterLock(database, settings.database_url)
        engine = open_search_engine(settings)
        try:
            if not await lock.acquire():
                return None
            engine.ensure_ready()
            async with session_scope(create_sessionmaker(database), write=False) as session:
                count = await rebuild(session, engine)
            _print_vector_progress(engine, count)
            return count
        finally:
            await lock.release()
            engine.close()
            await database.dispose()

    count = asyncio.run(_main())
    if count is None:
        console.print("[red]另一个进程（运行中的服务或 scenematch worker）正在写入索引；请先停止它再重建索引[/red]")
        raise typer.Exit(2)
    console.print(f"[green]已重建索引：{count} 条清单[/green]")


def _print_vector_progress(engine: Any, total: int) -> None:
    """How many listings already have a vector (kept across rebuilds: unchanged text is
    not embedded again) and who computes the rest."""
    from search.embedding import TEXT_ONLY, store_name
    from search.vectors import store_of

    name = store_name()
    if name == TEXT_ONLY:
        console.print("语义向量：未启用（SCENEMATCH_EMBEDDINGS=off 或未安装模型），推荐按文本匹配")
        return
    store = store_of(engine, name)
    if store is None:
        console.print("语义向量：当前搜索引擎不保存向量")
        return
    have = store.vector_count()
    console.print(
        f"语义向量（{name}）：已有 {have} / {total} 条；其余由同步进程在后台计算，或运行 scenematch embed 立即计算"
    )


@app.command()
def embed() -> None:
    """Compute the missing or stale listing vectors now, with progress (the sync worker
    otherwise computes them in the background)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from backend.app import open_search_engine
    from search.embedding import TEXT_ONLY, store_name
    from search.vectorize import Vectorizer

    settings = _settings()
    engine = open_search_engine(settings)
    try:
        engine.ensure_ready()
        vectorizer = Vectorizer(engine)
        if vectorizer.name == TEXT_ONLY:
            console.print("语义向量未启用（SCENEMATCH_EMBEDDINGS=off 或未安装模型）；只更新句子统计")
        if vectorizer.store() is None:
            console.print("[yellow]当前搜索引擎不保存向量，无需计算[/yellow]")
            return
        with Progress(
            TextColumn("计算语义向量"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
        ) as bar:
            task = bar.add_task("embed", total=None)

            def show(p: Any) -> None:
                bar.update(task, total=p.total, completed=p.done)

            result = vectorizer.run(show)
    finally:
        engine.close()
    rate = result.done / result.seconds if result.seconds else 0.0
    console.print(
        f"[green]已计算 {result.done} 条清单的向量（{store_name()}），用时 {result.seconds:.1f} 秒，约 {rate:.1f} 条/秒[/green]"
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="处理完当前积压后退出")] = False,
) -> None:
    """Run the index writer (search sync and mail) on its own, for deployments that separate it.

    It takes part in the same election as the processes of `serve` (backend/kit/election.py):
    it waits until no other process is the writer, then writes until stopped. Run `serve`
    with SCENEMATCH_RUN_SYNC_WORKER=false and SCENEMATCH_RUN_MAIL_WORKER=false to leave
    all writing to it.
    """
    from backend.app import open_search_engine
    from backend.kit.db import create_engine, create_sessionmaker
    from backend.kit.election import WriterLock
    from backend.wiring import build_workers

    settings = _settings()

    async def _main() -> tuple[int, int]:
        database = create_engine(settings.database_url)
        engine = open_search_engine(settings)
        sessionmaker = create_sessionmaker(database)
        lock = WriterLock(database, settings.database_url)
        workers = build_workers(sessionmaker, settings, engine)
        sync, mail = workers.sync, workers.mail
        applied = sent = 0
        try:
            waited = False
            while not await lock.acquire():
                if not waited:
                    console.print("另一个进程正在写入索引，等待它退出……")
                    waited = True
                await asyncio.sleep(1.0)
            engine.ensure_ready()
            if once:
                while batch := await sync.run_once():
                    applied += batch
                while batch := await mail.run_once():
                    sent += batch
                return applied, sent
            console.print("同步与邮件进程已启动，按 Ctrl+C 停止")
            sync.start()
            mail.start()
            while await lock.still_held():  # noqa: ASYNC110 — the check is a query, not an event
                await asyncio.sleep(1.0)
            console.print("[red]写入锁已失去，进程退出[/red]")
            await sync.stop()
            await mail.stop()
            return applied, sent
        finally:
            await lock.release()
            engine.close()
            await database.dispose()

    try:
        applied, sent = asyncio.run(_main())
    except KeyboardInterrupt:
        return
    console.print(f"已同步 {applied} 条变更，已发送 {sent} 封邮件")


@app.command("move-files")
def move_files() -> None:
    """Move uploaded files saved in the local folder (before files were kept in the database) into the database."""
    from backend.app import FILE_MODELS
    from backend.kit.files import move_to_database

    settings = _settings()
    moved, missing = _run_in_session(
        settings, lambda session: move_to_database(session, settings.upload_dir, FILE_MODELS)
    )
    console.print(f"已移入数据库 {moved} 个文件，缺失 {missing} 个")
    if missing:
        raise typer.Exit(1)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="登录邮箱")],
    role: Annotated[str, typer.Option(help="issuer / enterprise / matchmaker / admin")],
    name: Annotated[str, typer.Option(help="显示名称")],
    organisation: Annotated[str | None, typer.Option(help="所属组织的全称")] = None,
    password_stdin: Annotated[bool, typer.Option(help="从标准输入读取密码")] = False,
) -> None:
    """Create an account from the shell (the password is asked for, never passed as an argument)."""
    from pydantic import ValidationError

    from backend.auth.schemas import UserCreate
    from backend.auth.service import create_user as create
    from backend.kit.errors import AppError
    from backend.organisations.service import find_by_name

    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass("密码：")
    settings = _settings()

    async def work(session: AsyncSession) -> str:
        organisation_id = None
        if organisation:
            found = await find_by_name(session, name=organisation)
            if found is None:
                raise AppError(f"组织不存在：{organisation}")
            organisation_id = found.id
        data = UserCreate(email=email, password=password, display_name=name, role=role, organisation_id=organisation_id)
        user = await create(session, data=data)
        return user.email

    try:
        created = _run_in_session(settings, work)
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]{'.'.join(str(p) for p in error['loc'])}：{error['msg']}[/red]")
        raise typer.Exit(2) from exc
    except AppError as exc:
        console.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"[green]已创建账号 {created}[/green]")
