"""Yearly targets: the matchmakers' target table and form."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from backend.auth.actor import Actor
from backend.demonstration import presenter, service
from backend.demonstration.models import (
    METRIC_LABELS,
    TARGET_SCOPE_LABELS,
    Metric,
    TargetScope,
)
from backend.demonstration.schemas import (
    TargetSet,
)
from backend.dependencies import AdminDep, SessionDep, StaffDep
from backend.kit.params import whole_number
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import FormErrors, add_app_error, text, validate
from web.kit.templating import render
from web.kit.urls import url_to
from web.pages.demonstration.shared import LABELS, _notice, _optional, _options

router = APIRouter(prefix="/demonstration")


async def _targets_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    year: int,
    values: dict,
    errors: FormErrors,
    status: int = 200,
) -> Response:
    options = await _options(session)
    places = await service.load_places(session)
    context = {
        "targets": await presenter.targets(session, await service.list_targets(session, year=year)),
        "year": year,
        "values": values,
        "errors": errors,
        "can_edit": actor.is_admin,
        "scope_options": [(s.value, TARGET_SCOPE_LABELS[s]) for s in TargetScope],
        "metric_options": [(m.value, METRIC_LABELS[m]) for m in Metric],
        "city_options": places.cities,
        "track_options": options["track_options"],
        "labels": LABELS,
        "notice": _notice(request),
    }
    return render(request, "demonstration/targets.html", context, status=status)


@router.get("/targets", name="demonstration:targets_page")
async def targets_page(
    request: Request, session: SessionDep, actor: StaffDep, year: int | None = Query(default=None, ge=2000, le=2100)
) -> Response:
    year = year or service.china_today().year
    return await _targets_page(request, session, actor, year=year, values={"year": str(year)}, errors=FormErrors())


@router.post("/targets", name="demonstration:set_target")
async def set_target(request: Request, form: CheckedForm, session: SessionDep, actor: AdminDep) -> Response:
    scope = text(form, "scope")
    code = (
        text(form, "city_code")
        if scope == TargetScope.city
        else text(form, "track_code")
        if scope == TargetScope.track
        else ""
    )
    payload = {
        "scope": scope,
        "scope_code": code,
        "year": _optional(form, "year"),
        "metric": text(form, "metric"),
        "value": _optional(form, "value"),
    }
    values = {**payload, "city_code": text(form, "city_code"), "track_code": text(form, "track_code")}
    errors = FormErrors()
    data = validate(TargetSet, payload, errors, required={"year": "请填写年度", "value": "请填写目标值"})
    if data is not None:
        _done, refused = await attempt(
            session, lambda: service.set_target(session, actor=actor, data=data), raised=(401, 403)
        )
        if refused is not None:
            add_app_error(errors, refused)
    year_text = values["year"] or ""
    year = whole_number(year_text, 2000, 2100) or service.china_today().year
    if errors:
        return await _targets_page(request, session, actor, year=year, values=values, errors=errors, status=422)
    return RedirectResponse(
        url_to(request, "demonstration:targets_page") + f"?year={year}&done=target", status_code=303
    )
