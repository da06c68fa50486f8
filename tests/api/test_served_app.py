"""What the served app (backend/main.py) does at start that tests' apps do not."""

import gc

from backend.app import create_app


async def test_the_served_app_takes_its_start_up_heap_out_of_the_collectors_sight(settings):
    """A full collection over everything made at start stalled each process for 200-300 ms under
    load (bench/README.md); the served app freezes it once started."""
    assert gc.get_freeze_count() == 0
    app = create_app(settings.model_copy(update={"run_sync_worker": False}), freeze_at_start=True)
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
