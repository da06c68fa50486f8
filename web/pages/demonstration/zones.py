"""Demonstration zones: the list and the matchmakers' zone forms."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from backend.auth.actor import Actor
from backend.demonstration import presenter, service
from backend.demonstration.schemas import (
    ZoneCreate,
    ZoneUpdate,
)
from backend.dependencies import SessionDep, StaffDep
from backend.kit.params import IdPath
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import FormErrors, add_app_error, text, validate
from web.kit.orgpicker import resolve_organisation
from web.kit.templating import render
from web.kit.urls import url_to
from web.pages.demonstration.shared import (
    _notice,
    _one_page,
    _optional,
    _options,
    _raise_missing,
    _tracks,
)

router = APIRouter(prefix="/demonstration")


@router.get("/zones", name="demonstration:zones_page")
async def zones_page(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    rows, paging = await _one_page(request, lambda page: service.list_zones(session, page=page), {})
    zones = await presenter.zones(session, rows)
    return render(request, "demonstration/zones.html", {"zones": zones, "paging": paging, "notice": _notice(request)})


async def _zone_form(
    request: Request, session: SessionDep, *, values: dict, errors: FormErrors, zone_id: int | None, status: int = 200
) -> Response:
    context = {**await _options(session), "values": values, "errors": errors, "zone_id": zone_id}
    return render(request, "demonstration/zone_form.html", context, status=status)


def _zone_values(form: FormData) -> dict[str, Any]:
    return {
        "name": text(form, "name"),
        "region_code": _optional(form, "region_code"),
        "tracks": _tracks(form),
        "lead_organisation": text(form, "lead_organisation"),
        "description": text(form, "description"),
        "designated_on": _optional(form, "designated_on"),
    }


@router.get("/zones/new", name="demonstration:new_zone")
async def new_zone(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    return await _zone_form(request, session, values={"tracks": []}, errors=FormErrors(), zone_id=None)


@router.get("/zones/{zone_id}/edit", name="demonstration:edit_zone")
async def edit_zone(zone_id: IdPath, request: Request, session: SessionDep, actor: StaffDep) -> Response:
    zone = (await presenter.zones(session, [await service.get_zone(session, zone_id=zone_id)]))[0]
    values = {
        "name": zone.name,
        "region_code": zone.region.code if zone.region else None,
        "tracks": [t.code for t in zone.tracks],
        "lead_organisation": zone.lead_organisation.name if zone.lead_organisation else "",
        "description": zone.description,
        "designated_on": zone.designated_on.isoformat(),
    }
    return await _zone_form(request, session, values=values, errors=FormErrors(), zone_id=zone_id)


async def _save_zone(
    request: Request, form: FormData, session: SessionDep, actor: Actor, zone_id: int | None
) -> Response:
    values, errors = _zone_values(form), FormErrors()
    lead = await resolve_organisation(
        session, actor=actor, typed=values["lead_organisation"], errors=errors, field="lead_organisation"
    )
    payload = {k: v for k, v in values.items() if k != "lead_organisation"} | {"lead_organisation_id": lead}
    schema = ZoneUpdate if zone_id else ZoneCreate
    data = validate(schema, payload, errors, required={"name": "请填写示范区名称", "region_code": "请选择地区"})
    if data is not None:
        _done, refused = await attempt(
            session,
            lambda: (
                service.update_zone(session, actor=actor, zone_id=zone_id, data=data)
                if zone_id
                else service.create_zone(session, actor=actor, data=data)
            ),
            raised=(401, 403),
        )
        _raise_missing(refused)
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        return await _zone_form(request, session, values=values, errors=errors, zone_id=zone_id, status=422)
    return RedirectResponse(url_to(request, "demonstration:zones_page") + "?done=zone", status_code=303)


@router.post("/zones/new", name="demonstration:create_zone")
async def create_zone(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    return await _save_zone(request, form, session, actor, None)


@router.post("/zones/{zone_id}/edit", name="demonstration:update_zone")
async def update_zone(
    zone_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    await service.get_zone(session, zone_id=zone_id)
    return await _save_zone(request, form, session, actor, zone_id)
