"""Property-based API test: schemathesis generates requests from the app's own OpenAPI document.

Against a live site on its own demo database (committed data, so kept apart from the other
tests), as a visitor, a signed-in matchmaker and a signed-in enterprise. For every operation:
no 5xx, the status code is one the document declares, the content type is the declared one
(problem+json for errors) and the body matches the declared schema. Bounded: a few examples per
operation, so the three runs take about a minute; `python -m bench.api_fuzz` is the full run.
"""

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.settings import Environment, Settings
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _admin
from tools.devserver import DEMO_EMAILS, prepare_demo_database, running_site

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Signing out would end the run's session half-way; the rest is fair game.
EXCLUDED_PATHS = ["/api/v1/auth/logout"]
EXAMPLES_PER_OPERATION = 4
REQUEST_TIMEOUT = 60  # seconds; generous, since a shared CI machine can be slow


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"scenematch_fuzz_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    try:
        prepare_demo_database(url)
        site_settings = Settings(
            env=Environment.testing,
            database_url=url,
            data_dir=tmp_path_factory.mktemp("fuzz-site"),
            secret_key="fuzz-test-secret",
            run_mail_worker=False,
        )
        with running_site(site_settings) as base_url:
            yield base_url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module", params=["visitor", "matchmaker", "enterprise"])
def role_headers(request: pytest.FixtureRequest, fuzz_site: str) -> dict[str, str]:
    if request.param == "visitor":
        return {}
    response = httpx.post(
        f"{fuzz_site}/api/v1/auth/login",
        json={"email": DEMO_EMAILS[request.param], "password": "demo-2026"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Cookie": f"sm_session={response.cookies['sm_session']}"}


def _failures(schema, headers: dict[str, str], base_url: str) -> list[str]:
    """Run every operation's bounded property test; the failures, one line each (all of them, not the first)."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,  # the same requests on every run: a failure here is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup of the failed checks
            failures.append(f"{operation.label}: {_describe(exc)[:4000]}")
    return failures


def _describe(exc: BaseException) -> str:
    """The failure with every sub-exception and cause spelled out: hypothesis reports a failure
    that did not repeat as "Inconsistent results" and keeps the first run's failure inside."""
    lines = [str(exc).strip()]
    for sub in getattr(exc, "exceptions", ()):
        lines.append("  - " + _describe(sub).replace("\n", "\n    "))
    if exc.__cause__ is not None and exc.__cause__ is not exc:
        lines.append("  caused by: " + _describe(exc.__cause__))
    return "\n".join(lines)


def test_the_api_answers_as_documented(fuzz_site: str, role_headers: dict[str, str]):
    # Fetched here with a generous timeout: on a busy machine the first build of the document is slow.
    document = httpx.get(f"{fuzz_site}/api/v1/openapi.json", timeout=120).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(document).exclude(path=EXCLUDED_PATHS)
    failures = _failures(schema, role_headers, fuzz_site)
    assert not failures, "\n\n".join(failures)
