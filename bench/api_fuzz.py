"""A full (unbounded) schemathesis run against a live site on a fresh demo database.

    .venv/bin/python -m bench.api_fuzz --port 18400 [--workers 2] [--role visitor --role matchmaker ...]

Creates a PostgreSQL database with the demo data, serves the site with uvicorn (access log to a
file), signs in as each role asked for, and runs `st run` with every check and every phase at the
default number of examples. Prints, per role, schemathesis's summary and the number of 5xx answers
the server gave (counted from its access log, so every one counts, not only the first per operation).
The suite's own bounded run is tests/api/test_schema_fuzz.py.
"""

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tools.devserver import DEMO_EMAILS, prepare_demo_database

ROLES = ("visitor", "matchmaker", "enterprise")
# Signing out would end the run's session half-way; the login endpoint would hit the rate limiter.
EXCLUDED_WHEN_SIGNED_IN = ("/api/v1/auth/logout",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=18400)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--role", action="append", choices=ROLES)
    parser.add_argument("--out", type=Path, default=Path("/tmp/scenematch-fuzz"))
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more `st run` options")
    args = parser.parse_args()
    roles = args.role or list(ROLES)
    args.out.mkdir(parents=True, exist_ok=True)

    name = f"scenematch_fuzz_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    access_log = args.out / "access.log"
    server: subprocess.Popen[bytes] | None = None
    try:
        prepare_demo_database(url)
        env = {
            **os.environ,
            "SCENEMATCH_ENV": "testing",
            "SCENEMATCH_DATABASE_URL": url,
            "SCENEMATCH_DATA_DIR": str(args.out / "data"),
            "SCENEMATCH_SECRET_KEY": "fuzz-secret",
            "SCENEMATCH_RUN_MAIL_WORKER": "false",
        }
        with access_log.open("wb") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "backend.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(args.port),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{args.port}"
            _wait_for(base)
            # Signed in before any run: the runs hit the login endpoint too, and its rate limit.
            cookies = {role: _sign_in(base, role) for role in roles if role != "visitor"}
            for role in roles:
                before = _count_5xx(access_log)
                summary = _run(base, role, cookies.get(role), args)
                after = _count_5xx(access_log)
                print(f"== {role}: {after - before} answers with 5xx status")
                print(summary)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the site did not start")


def _count_5xx(access_log: Path) -> int:
    text = access_log.read_text(errors="replace")
    return len(re.findall(r'HTTP/1\.[01]" 5\d\d', text))


def _sign_in(base: str, role: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"email": DEMO_EMAILS[role], "password": "demo-2026"}, timeout=30
    )
    response.raise_for_status()
    return response.cookies["sm_session"]


def _run(base: str, role: str, cookie: str | None, args: argparse.Namespace) -> str:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{base}/api/v1/openapi.json",
        "--checks",
        "all",
        "--workers",
        str(args.workers),
        "--report",
        "junit",
        "--report-dir",
        str(args.out / role),
        "--suppress-health-check",
        "all",
    ]
    if cookie is not None:
        command += ["-H", f"Cookie: sm_session={cookie}"]
        for path in EXCLUDED_WHEN_SIGNED_IN:
            command += ["--exclude-path", path]
    command += args.extra
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    (args.out / f"{role}.txt").write_text(result.stdout + result.stderr)
    lines = result.stdout.strip().splitlines()
    return "\n".join(lines[-25:])


if __name__ == "__main__":
    main()
