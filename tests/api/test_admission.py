"""Under load a process runs a few requests at a time and answers the others in arrival order
(backend/kit/admission.py): at 200 connections nobody waits past the queue ahead of them."""

import asyncio

import httpx
import pytest

from backend.app import create_app
from backend.kit import busy
from backend.kit.admission import AdmitInOrder


def _page(running: list[int], peak: list[int], finished: list[int]):
    async def page(scope, receive, send):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.01)
        running[0] -= 1
        finished.append(int(scope["query_string"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return page


async def test_requests_past_the_limit_wait_and_are_answered_in_the_order_they_came():
    running, peak, finished = [0], [0], list[int]()
    app = AdmitInOrder(_page(running, peak, finished), limit=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        tasks = []
        for i in range(20):
            tasks.append(asyncio.create_task(client.get(f"/?{i}")))
            await asyncio.sleep(0)  # each request reaches the server before the next is sent
        answers = await asyncio.gather(*tasks)
    assert all(a.status_code == 200 for a in answers)
    assert peak[0] == 3
    assert finished == list(range(20))  # first come, first served: nobody starves behind later arrivals


async def test_a_limit_of_zero_admits_every_request_at_once():
    running, peak, finished = [0], [0], list[int]()
    app = AdmitInOrder(_page(running, peak, finished), limit=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        answers = await asyncio.gather(*(client.get(f"/?{i}") for i in range(10)))
    assert all(a.status_code == 200 for a in answers) and peak[0] == 10


@pytest.mark.parametrize("limit", [1, 2])
async def test_the_app_runs_no_more_requests_at_once_than_its_setting(settings, limit):
    """The real app, its whole middleware stack: the request counter inside sees at most `limit`."""
    app = create_app(settings.model_copy(update={"requests_in_flight": limit}))
    peak = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, busy._in_flight)
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answers = await asyncio.gather(*(client.get("/static/site.css") for _ in range(8)))
    done.set()
    await watcher
    assert all(a.status_code == 200 and a.content for a in answers)
    assert peak == limit
