"""Numbered batches (第N批): publishing a batch and its change log against the previous batch."""

from backend.auth.models import Role
from backend.listings.models import ListingStatus
from tests.factories import create_offering, create_opportunity, create_organisation, create_user, login


def _titles(section: list[dict]) -> list[str]:
    return [item["title"] for item in section]


async def _staff(session, client):
    return await login(client, await create_user(session, role=Role.matchmaker))


async def _pending(session, organisation, title: str):
    return await create_opportunity(session, organisation, title=title, status=ListingStatus.pending_review)


async def _publish(staff, listing_id: int, batch: int) -> None:
    response = await staff.post(f"/api/v1/opportunities/{listing_id}/publish", json={"batch_number": batch})
    assert response.status_code == 200, response.text


async def _two_batches(session, staff):
    """Batch 1 publishes A and B; then B is edited, C is published into batch 2 and A is closed."""
    department = await create_organisation(session, name="江西省数据局（批次测试）")
    a = await _pending(session, department, "甲：赣州脐橙溯源场景")
    b = await _pending(session, department, "乙：九江港口数字孪生场景")
    c = await _pending(session, department, "丙：景德镇陶瓷窑炉智能监测")
    await _publish(staff, a.id, 1)
    await _publish(staff, b.id, 1)
    published = await staff.post("/api/v1/batches/1/publish")
    assert published.status_code == 200 and published.json()["published_at"]

    edited = await staff.patch(f"/api/v1/opportunities/{b.id}", json={"description": "补充了岸桥远程操控的要求"})
    assert edited.status_code == 200, edited.text
    await _publish(staff, c.id, 2)
    assert (await staff.post(f"/api/v1/opportunities/{a.id}/close")).status_code == 200
    return a, b, c


async def test_batch_two_lists_what_it_added_changed_and_withdrew(client, session):
    staff = await _staff(session, client)
    a, b, c = await _two_batches(session, staff)

    log = (await staff.get("/api/v1/batches/2/changes")).json()
    assert log["previous"] == 1 and log["end"] is None  # batch 2 is still open
    assert _titles(log["added"]) == [c.title]
    assert _titles(log["changed"]) == [b.title] and log["changed"][0]["changed_fields"] == ["description"]
    assert _titles(log["withdrawn"]) == [a.title]

    # Batch 1 keeps its own history: A was withdrawn after batch 1 was published.
    first = (await staff.get("/api/v1/batches/1/changes")).json()
    assert _titles(first["added"]) == [a.title, b.title]
    assert first["changed"] == [] and first["withdrawn"] == []


async def test_publishing_a_batch_closes_its_window(client, session):
    staff = await _staff(session, client)
    _, b, c = await _two_batches(session, staff)
    assert (await staff.post("/api/v1/batches/2/publish")).status_code == 200
    await staff.patch(f"/api/v1/opportunities/{c.id}", json={"description": "发布第2批之后的修改"})

    log = (await staff.get("/api/v1/batches/2/changes")).json()
    assert log["end"] is not None and _titles(log["changed"]) == [b.title]  # C's later edit is not here
    # The edit belongs to the next batch's change log.
    department = await create_organisation(session)
    await _publish(staff, (await _pending(session, department, "丁：上饶数字文旅导览")).id, 3)
    third = (await staff.get("/api/v1/batches/3/changes")).json()
    assert _titles(third["changed"]) == [c.title] and _titles(third["added"]) == ["丁：上饶数字文旅导览"]


async def test_visitors_see_withdrawn_items_by_title_and_only_published_ones_otherwise(client, make_client, session):
    staff = await _staff(session, client)
    a, b, c = await _two_batches(session, staff)
    visitor = make_client()

    log = (await visitor.get("/api/v1/batches/2/changes")).json()
    assert _titles(log["added"]) == [c.title] and _titles(log["changed"]) == [b.title]
    assert _titles(log["withdrawn"]) == [a.title]
    overview = {row["batch"]["number"]: row for row in (await visitor.get("/api/v1/batches/overview")).json()}
    assert (overview[2]["added"], overview[2]["changed"], overview[2]["withdrawn"]) == (1, 1, 1)
    # A was closed later, so visitors no longer find it among batch 1's additions; staff still do.
    assert overview[1]["added"] == 1
    assert {row["batch"]["number"]: row for row in (await staff.get("/api/v1/batches/overview")).json()}[1][
        "added"
    ] == 2


async def test_offerings_count_too_and_a_listing_appears_once(client, session):
    staff = await _staff(session, client)
    enterprise = await create_organisation(session, kind="enterprise")
    offering = await create_offering(
        session, enterprise, title="戊：工业视觉质检一体机", status=ListingStatus.pending_review
    )
    published = await staff.post(f"/api/v1/offerings/{offering.id}/publish", json={"batch_number": 4})
    assert published.status_code == 200, published.text
    await staff.patch(f"/api/v1/offerings/{offering.id}", json={"title": "戊：工业视觉质检一体机（二代）"})

    log = (await staff.get("/api/v1/batches/4/changes")).json()
    # Added in this batch and edited in the same window: it is new, not changed.
    assert [(i["kind"], i["id"]) for i in log["added"]] == [("offering", offering.id)] and log["changed"] == []

    assert (await staff.post(f"/api/v1/offerings/{offering.id}/withdraw")).status_code == 200
    log = (await staff.get("/api/v1/batches/4/changes")).json()
    assert log["added"] == [] and [i["id"] for i in log["withdrawn"]] == [offering.id]


async def test_only_staff_publish_a_batch_and_only_once(client, make_client, session):
    staff = await _staff(session, client)
    department = await create_organisation(session)
    await _publish(staff, (await _pending(session, department, "己：抚州智慧农业")).id, 5)
    issuer = await login(make_client(), await create_user(session, role=Role.issuer, organisation=department))

    assert (await make_client().post("/api/v1/batches/5/publish")).status_code == 401
    assert (await issuer.post("/api/v1/batches/5/publish")).status_code == 403
    assert (await staff.post("/api/v1/batches/5/publish")).status_code == 200
    again = await staff.post("/api/v1/batches/5/publish")
    assert again.status_code == 409 and "已经发布" in again.json()["detail"]
    assert (await staff.get("/api/v1/batches/999/changes")).status_code == 404


async def test_an_earlier_batch_can_still_be_published_after_a_later_one(client, session):
    """Issue 12: publishing 第8批 first no longer strands 第7批; each keeps its own listings."""
    staff = await _staff(session, client)
    department = await create_organisation(session)
    await _publish(staff, (await _pending(session, department, "庚：宜春锂电安全监测")).id, 7)
    await _publish(staff, (await _pending(session, department, "辛：萍乡工业互联网")).id, 8)
    assert (await staff.post("/api/v1/batches/8/publish")).status_code == 200
    published = await staff.post("/api/v1/batches/7/publish")
    assert published.status_code == 200 and published.json()["published_at"]
    assert _titles((await staff.get("/api/v1/batches/7/changes")).json()["added"]) == ["庚：宜春锂电安全监测"]
    assert _titles((await staff.get("/api/v1/batches/8/changes")).json()["added"]) == ["辛：萍乡工业互联网"]
    again = await staff.post("/api/v1/batches/7/publish")
    assert again.status_code == 409 and "第7批已经发布过" in again.json()["detail"]
