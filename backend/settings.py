"""One place for configuration, read from the environment (prefix SCENEMATCH_)."""

import ipaddress
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 -- refused outside development
DEFAULT_SITE_URL = "http://127.0.0.1:8000"


class Environment(StrEnum):
    development = "development"
    demo = "demo"
    testing = "testing"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCENEMATCH_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/scenematch"
    data_dir: Path = Path("data")
    secret_key: str = DEVELOPMENT_SECRET
    # The public address of the site as people reach it; links in emails are made absolute with it.
    site_url: str = DEFAULT_SITE_URL

    # Search: the embedded engine unless a Meilisearch URL is configured.
    search_engine: str = "embedded"
    meili_url: str | None = Field(default=None, validation_alias="MEILI_URL")
    meili_master_key: str | None = Field(default=None, validation_alias="MEILI_MASTER_KEY")
    search_index: str = "listings"
    run_sync_worker: bool = True

    # Outgoing mail: the mail worker drains the email outbox over SMTP.
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "noreply@scenematch.localhost"
    run_mail_worker: bool = True
    # An expression of interest waiting longer than this reminds the issuer (again every period).
    interest_reminder_days: int = Field(default=3, ge=1)

    # Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated,
    # e.g. "127.0.0.1,10.0.0.0/8"); from any other peer the header is ignored.
    trusted_proxies: str = ""
    # Lifetimes of the links sent by email.
    confirm_email_hours: int = Field(default=72, ge=1)
    reset_password_minutes: int = Field(default=60, ge=5)
    sign_in_link_minutes: int = Field(default=15, ge=5)
    invitation_days: int = Field(default=7, ge=1)

    session_cookie: str = "sm_session"
    session_days: int = 14
    cookie_secure: bool = False

    # Who runs the site, as a Chinese government portal states it in every page's footer and on
    # 联系我们. The record numbers are issued to the deployment (ICP 备案 by MIIT, 公安备案 by the
    # public-security network filing system, 网站标识码 by the government-website census); each is
    # shown only when set, never made up.
    site_organiser: str = "江西省发展数字经济领导小组办公室"  # 主办单位
    site_operator: str | None = None  # 承办单位
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_address: str | None = None
    contact_hours: str | None = None
    icp_record: str | None = None  # e.g. 赣ICP备12345678号
    police_record: str | None = None  # e.g. 赣公网安备36010002000001号
    site_code: str | None = None  # 网站标识码, e.g. 3600000001

    max_json_body_bytes: int = 1 * 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_import_rows: int = 20000
    # Requests one process runs at a time; the rest wait in arrival order (backend/kit/admission.py).
    # 0 admits all at once.
    requests_in_flight: int = Field(default=8, ge=0)

    # Memory per process for whole answers to visitors' searches, list and listing pages, kept while the
    # listings and the index stay as they were (backend/kit/visitor_answers.py); 0 keeps none.
    visitor_answers_mb: int = Field(default=64, ge=0)

    # How long a process may reuse the facet counts of a list page (web/listing_query.py);
    # 0 counts them on every request. README "Several hosts" lists every per-process cache.
    list_facet_cache_seconds: float = Field(default=10.0, ge=0)

    @field_validator("site_url")
    @classmethod
    def _site_url_is_a_web_address(cls, value: str) -> str:
        text = value.strip()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 — reading it is what checks a port such as ":80a"
        except ValueError:  # also an unclosed "[" of an IPv6 address
            parts = None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or any(c.isspace() for c in text)
        ):
            raise ValueError(
                f"SCENEMATCH_SITE_URL must be the site's public http:// or https:// address, "
                f"such as https://scenes.example.gov.cn (got {value!r})"
            )
        # Links are site paths that start with "/", so a trailing slash would double it.
        return text.rstrip("/")

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.env == Environment.production and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("SCENEMATCH_SECRET_KEY must be set in production")
        if self.meili_url and self.search_engine == "embedded" and "search_engine" not in self.model_fields_set:
            self.search_engine = "meilisearch"
        return self

    @cached_property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [
            ipaddress.ip_network(part.strip(), strict=False) for part in self.trusted_proxies.split(",") if part.strip()
        ]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"SCENEMATCH_TRUSTED_PROXIES: not an address or network: {part!r}") from exc
        return value

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def search_dir(self) -> Path:
        return self.data_dir / "search"

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"
