"""docker-compose.yml cannot be run here (no Docker engine); check what it hands the app instead."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from backend.settings import Environment, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} forms."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env and env[name] != "":
            return env[name]
        if op == ":-":
            return arg or ""
        if op == ":?":
            raise KeyError(arg)
        return ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", replace, value)


def _app_environment(env: dict[str, str]) -> dict[str, str]:
    return {k: _interpolate(str(v), env) for k, v in COMPOSE["services"]["app"]["environment"].items()}


SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "MEILI_MASTER_KEY": "meili-master-key-123",
    "SCENEMATCH_SECRET_KEY": "s3cret",
    "SCENEMATCH_SITE_URL": "https://scenes.example.gov.cn/",
}


def test_compose_configures_the_app_for_postgres_and_meilisearch(monkeypatch: pytest.MonkeyPatch):
    for key, value in _app_environment(SECRETS).items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.env == Environment.production
    assert settings.database_url == "postgresql+asyncpg://scenematch:pg-secret@db:5432/scenematch"
    assert settings.search_engine == "meilisearch"
    assert settings.meili_url == "http://meilisearch:7700"
    assert settings.meili_master_key == "meili-master-key-123"
    assert settings.site_url == "https://scenes.example.gov.cn"  # the trailing slash is dropped
    database = COMPOSE["services"]["db"]["environment"]
    assert database["POSTGRES_DB"] == "scenematch" and database["POSTGRES_USER"] == "scenematch"


def test_compose_refuses_to_start_without_its_secrets():
    with pytest.raises(KeyError):
        _app_environment({})


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SCENEMATCH_ENV", "production")
    monkeypatch.delenv("SCENEMATCH_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_compose_refuses_to_start_without_the_site_address():
    without = {k: v for k, v in SECRETS.items() if k != "SCENEMATCH_SITE_URL"}
    with pytest.raises(KeyError, match="SCENEMATCH_SITE_URL"):
        _app_environment(without)


@pytest.mark.parametrize("bad", ["ftp://scenes.example.gov.cn", "not a url", "https://", "scenes.example.gov.cn"])
def test_a_site_address_that_is_not_http_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch, bad: str):
    monkeypatch.setenv("SCENEMATCH_SITE_URL", bad)
    with pytest.raises(ValidationError, match="SCENEMATCH_SITE_URL must be the site's public http:// or https://"):
        Settings(_env_file=None)


def test_the_app_does_not_start_with_a_bad_site_address(tmp_path: Path):
    """What an operator sees: `backend.main` (uvicorn's entry point) fails, naming the setting."""
    env = {**os.environ, "SCENEMATCH_SITE_URL": "ftp://scenes.example.gov.cn", "PYTHONPATH": str(ROOT)}
    started = subprocess.run(
        [sys.executable, "-c", "import backend.main"],
        cwd=tmp_path,  # no .env file here
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "SCENEMATCH_SITE_URL must be the site's public http:// or https:// address" in started.stderr
    assert "ftp://scenes.example.gov.cn" in started.stderr


def test_no_secret_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    for line in text.splitlines():
        if re.search(r"(PASSWORD|KEY):", line):
            assert "${" in line, line


def test_the_meilisearch_image_counts_word_length_in_characters():
    """Issue 15, point 3: before v1.16 Meilisearch counts a word's length for typos in
    UTF-8 bytes, so two-character Chinese words get a typo (`智慧` finds `智力`). The
    adapter keeps typos off Chinese words at any version; the image is a pinned release
    from v1.16 on all the same (no `latest`: a settings change must be a decision)."""
    image = COMPOSE["services"]["meilisearch"]["image"]
    name, _, tag = image.partition(":")
    assert name == "getmeili/meilisearch"
    version = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", tag)
    assert version, f"not a pinned release: {image}"
    assert tuple(int(part) for part in version.groups()) >= (1, 16, 0), image
