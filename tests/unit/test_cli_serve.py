"""`scenematch serve` gives a freshly spawned web process time to start before uvicorn's health
check gives up on it.

Seen on a busy 2-core machine (load average 16): `scenematch serve --workers 2` (and so `scenematch
demo`) restarted its workers six times in 70 s and never answered, because uvicorn kills a worker
that does not answer its ping within 5 s and a spawned worker answers only once Python and uvicorn
are imported. With a 60 s allowance the same machine served after 130 s with no worker killed.
"""

import uvicorn

from backend import cli


def test_serve_allows_a_slow_worker_start(monkeypatch):
    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options, app=app))
    cli.serve(host="127.0.0.1", port=8000, reload=False, workers=1)
    assert seen["app"] == "backend.main:app"
    assert seen["timeout_worker_healthcheck"] == cli.WORKER_HEALTHCHECK_SECONDS >= 30
