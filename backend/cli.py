"""The `scenematch` command line."""

import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

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


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
) -> None:
    """Serve the platform (the sync worker runs in-process)."""
    import uvicorn

    uvicorn.run("backend.main:app", host=host, port=port, reload=reload, proxy_headers=True)


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    prepare_only: Annotated[bool, typer.Option(help="只准备数据库，不启动服务")] = False,
) -> None:
    """Run the platform with no server at all: SQLite file, embedded search, the Jiangxi seed data."""
    import os

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
    serve(host=host, port=port, reload=False)


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
            return await import_rows(
                session,
                actor=Actor(user=user),
                rows=rows,
                parse_errors=errors,
                publish=publish,
                on_progress=lambda n: progress.advance(task, n),
                filename=path.name,
            )

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
    from backend.searching.sync import reindex as rebuild

    settings = _settings()
    engine = open_search_engine(settings)
    try:
        engine.ensure_ready()
        count = _run_in_session(settings, lambda session: rebuild(session, engine))
    finally:
        engine.close()
    console.print(f"[green]已重建索引：{count} 条清单[/green]")


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="处理完当前积压后退出")] = False,
) -> None:
    """Run the search sync worker and the mail worker on their own (serve and demo run them in-process).

    Both claim their rows with locks, so running this next to `serve` sends and indexes nothing twice.
    """
    from backend.app import open_search_engine
    from backend.kit.db import create_engine, create_sessionmaker
    from backend.wiring import build_workers

    settings = _settings()

    async def _main() -> tuple[int, int]:
        database = create_engine(settings.database_url)
        engine = open_search_engine(settings)
        sessionmaker = create_sessionmaker(database)
        workers = build_workers(sessionmaker, settings, engine)
        sync, mail = workers.sync, workers.mail
        applied = sent = 0
        try:
            engine.ensure_ready()
            if once:
                while batch := await sync.run_once():
                    applied += batch
                while batch := await mail.run_once():
                    sent += batch
                return applied, sent
            console.print("同步与邮件进程已启动，按 Ctrl+C 停止")
            await asyncio.gather(sync.run(), mail.run())
            return applied, sent
        finally:
            engine.close()
            await database.dispose()

    try:
        applied, sent = asyncio.run(_main())
    except KeyboardInterrupt:
        return
    console.print(f"已同步 {applied} 条变更，已发送 {sent} 封邮件")


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
