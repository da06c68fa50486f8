"""High-growth enterprises: the list and the matchmakers' forms with their indicators."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from backend.auth.actor import Actor
from backend.demonstration import presenter, service
from backend.demonstration.schemas import (
    EnterpriseCreate,
    EnterpriseUpdate,
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
    _SPLIT_LINES,
    _notice,
    _one_page,
    _optional,
    _options,
    _raise_missing,
    _tracks,
)

router = APIRouter(prefix="/demonstration")


@router.get("/enterprises", name="demonstration:enterprises_page")
async def enterprises_page(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    rows, paging = await _one_page(request, lambda page: service.list_enterprises(session, actor=actor, page=page), {})
    enterprises = await presenter.enterprises(session, rows)
    return render(
        request,
        "demonstration/enterprises.html",
        {"enterprises": enterprises, "paging": paging, "notice": _notice(request)},
    )


def _indicator_text(indicators: dict[str, float]) -> str:
    return "\n".join(f"{name}={value:g}" for name, value in indicators.items())


def _parse_indicators(text: str, errors: FormErrors) -> dict[str, float]:
    """One "名称=数值" per line."""
    out: dict[str, float] = {}
    for line in _SPLIT_LINES.split(text):
        if not line.strip():
            continue
        name, sep, number = line.replace("＝", "=").partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(number.strip().rstrip("%"))
        except ValueError:
            errors.add("indicators", f"「{line.strip()}」应写成“名称=数值”，如：营业收入增速(%)=35")
    return out


async def _enterprise_form(
    request: Request,
    session: SessionDep,
    *,
    values: dict,
    errors: FormErrors,
    enterprise_id: int | None,
    status: int = 200,
) -> Response:
    context = {**await _options(session), "values": values, "errors": errors, "enterprise_id": enterprise_id}
    return render(request, "demonstration/enterprise_form.html", context, status=status)


@router.get("/enterprises/new", name="demonstration:new_enterprise")
async def new_enterprise(request: Request, session: SessionDep, actor: StaffDep) -> Response:
    return await _enterprise_form(
        request,
        session,
        values={"tracks": [], "year_recognised": str(service.china_today().year)},
        errors=FormErrors(),
        enterprise_id=None,
    )


@router.get("/enterprises/{enterprise_id}/edit", name="demonstration:edit_enterprise")
async def edit_enterprise(enterprise_id: IdPath, request: Request, session: SessionDep, actor: StaffDep) -> Response:
    shown = (
        await presenter.enterprises(
            session, [await service.get_enterprise(session, actor=actor, enterprise_id=enterprise_id)]
        )
    )[0]
    values = {
        "organisation": shown.organisation.name,
        "region_code": shown.region.code if shown.region else None,
        "tracks": [t.code for t in shown.tracks],
        "year_recognised": str(shown.year_recognised),
        "recognised_on": shown.recognised_on.isoformat() if shown.recognised_on else "",
        "indicators": _indicator_text(shown.indicators),
        "note": shown.note,
    }
    return await _enterprise_form(request, session, values=values, errors=FormErrors(), enterprise_id=enterprise_id)


async def _save_enterprise(
    request: Request, form: FormData, session: SessionDep, actor: Actor, enterprise_id: int | None
) -> Response:
    values = {
        "organisation": text(form, "organisation"),
        "region_code": _optional(form, "region_code"),
        "tracks": _tracks(form),
        "year_recognised": _optional(form, "year_recognised"),
        "recognised_on": _optional(form, "recognised_on"),
        "indicators": text(form, "indicators"),
        "note": text(form, "note"),
    }
    errors = FormErrors()
    payload = {k: v for k, v in values.items() if k != "organisation"} | {
        "indicators": _parse_indicators(values["indicators"], errors)
    }
    if enterprise_id is None:
        if not values["organisation"]:
            errors.add("organisation", "请填写企业名称")
        else:
            payload["organisation_id"] = await resolve_organisation(
                session, actor=actor, typed=values["organisation"], errors=errors, field="organisation"
            )
    data = validate(
        EnterpriseUpdate if enterprise_id else EnterpriseCreate,
        payload,
        errors,
        required={"year_recognised": "请填写认定年份"},
    )
    if errors.get("organisation"):
        # The picker's own message says what is wrong; the schema's "应为整数" about the id would not.
        errors.pop("organisation_id", None)
    if data is not None:
        _done, refused = await attempt(
            session,
            lambda: (
                service.update_enterprise(session, actor=actor, enterprise_id=enterprise_id, data=data)
                if enterprise_id
                else service.create_enterprise(session, actor=actor, data=data)
            ),
            raised=(401, 403),
        )
        _raise_missing(refused)
        if refused is not None:
            add_app_error(
                errors,
                refused if refused.field != "organisation_id" else type(refused)(refused.detail, field="organisation"),
            )
    if errors:
        return await _enterprise_form(
            request, session, values=values, errors=errors, enterprise_id=enterprise_id, status=422
        )
    return RedirectResponse(url_to(request, "demonstration:enterprises_page") + "?done=enterprise", status_code=303)


@router.post("/enterprises/new", name="demonstration:create_enterprise")
async def create_enterprise(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    return await _save_enterprise(request, form, session, actor, None)


@router.post("/enterprises/{enterprise_id}/edit", name="demonstration:update_enterprise")
async def update_enterprise(
    enterprise_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    await service.get_enterprise(session, actor=actor, enterprise_id=enterprise_id)
    return await _save_enterprise(request, form, session, actor, enterprise_id)
