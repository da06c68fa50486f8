"""The one place where the domains are put together outside a request.

- `install_hooks()` imports every module that registers a hook (listings' publish and
  released-contact hooks, audit's history checks, the mail worker's periodic jobs), so that the
  app, the CLI and `scenematch worker` all run with the same handlers. Importing is registering;
  calling it twice changes nothing.
- `build_workers()` builds the background workers (search sync, mail); the app lifespan and
  `scenematch worker` both use it, so they cannot drift apart.
"""

import importlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.notifications.mail import MailWorker
from backend.searching.sync import SyncWorker
from backend.settings import Settings
from search import SearchEngine

# Each of these registers handlers on a lower layer's hook when imported.
_REGISTERING_MODULES = (
    "backend.listings.permissions",  # audit: who may read a listing's history
    "backend.listings.service",  # organisations: a renamed organisation's listings are indexed again
    "backend.answers.permissions",  # audit: an answer's history
    "backend.pairings.permissions",  # audit: a pairing's history
    "backend.subscriptions.alerts",  # listings: queue alerts on publication; sync: run them; mail: digests
    "backend.interests.service",  # listings: released contacts; mail: interest reminders
    "backend.answers.listing_changes",  # listings: answerers hear of deadline changes, closing, withdrawal
    "backend.notifications.listing_notices",  # listings: tell the owner a listing was published, sent back, or its edit request decided
    "backend.answers.reminders",  # mail: reminders before answer deadlines
    "backend.results.service",  # mail: 公示 ending reminders, results that fall final; organisations: winners renamed
)


def install_hooks() -> None:
    for name in _REGISTERING_MODULES:
        importlib.import_module(name)


@dataclass(frozen=True)
class Workers:
    sync: SyncWorker
    mail: MailWorker

    def all(self) -> tuple[SyncWorker, MailWorker]:
        return (self.sync, self.mail)


def build_workers(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, search_engine: SearchEngine
) -> Workers:
    install_hooks()
    return Workers(sync=SyncWorker(sessionmaker, search_engine), mail=MailWorker(sessionmaker, settings))
