"""The signed-in organisation's own profile page (name, credit code, region, description …), and
the suggestions behind the organisation picker (`web/kit/orgpicker.py`) of the other forms."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from backend.auth.actor import Actor
from backend.dependencies import SessionDep, SignedInDep
from backend.kit.errors import NotFound
from backend.organisations import service as organisation_service
from backend.organisations.models import ORGANISATION_KIND_LABELS
from backend.organisations.schemas import OrganisationUpdate
from web.kit.csrf import CheckedForm
from web.kit.flow import attempt
from web.kit.forms import FormErrors, add_app_error, organisation_values, text, validate
from web.kit.templating import render
from web.kit.urls import url_to
from web.kit.vocabulary import taxonomy_options

router = APIRouter(prefix="/workspace")

NOTICES = {"profile": "组织信息已更新。"}


async def _organisation_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    values: dict[str, Any] | None,
    errors: FormErrors,
    status: int = 200,
) -> Response:
    if actor.organisation_id is None:
        raise NotFound("当前账号没有关联组织")
    organisation = await organisation_service.get(session, organisation_id=actor.organisation_id)
    if values is None:
        values = {
            k: getattr(organisation, k) or ""
            for k in (
                "name",
                "short_name",
                "credit_code",
                "region_code",
                "place",
                "description",
                "website",
                "contact_name",
                "contact_phone",
                "qualifications",
                "reference_cases",
            )
        }
    context = {
        **await taxonomy_options(session),
        "organisation": organisation,
        "values": values,
        "errors": errors,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    return render(request, "organisations/profile.html", context, status=status)


@router.get("/organisation", name="organisations:organisation_form")
async def organisation_form(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    return await _organisation_page(request, session, actor, values=None, errors=FormErrors())


@router.post("/organisation", name="organisations:organisation_update")
async def organisation_update(request: Request, form: CheckedForm, session: SessionDep, actor: SignedInDep) -> Response:
    if actor.organisation_id is None:
        raise NotFound("当前账号没有关联组织")
    values, errors = organisation_values(form), FormErrors()
    data = validate(OrganisationUpdate, values, errors, required={"name": "请填写组织名称"})
    if data is not None:
        _done, refused = await attempt(
            session,
            lambda: organisation_service.update(session, actor=actor, organisation_id=actor.organisation_id, data=data),
            raised=(),
        )
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        return await _organisation_page(request, session, actor, values=values, errors=errors, status=422)
    return RedirectResponse(url_to(request, "organisations:organisation_form") + "?done=profile", status_code=303)


@router.get("/organisations/suggest", name="organisations:suggest")
async def suggest(request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    """Up to eight organisations for the words typed so far: the ones this person may choose (active ones; staff also pending)."""
    q = text(request.query_params, "q", 100)  # type: ignore[arg-type]
    found = await organisation_service.suggest(session, actor=actor, q=q)
    return JSONResponse(
        [
            {
                "name": o.name,
                "detail": " · ".join(
                    part for part in (ORGANISATION_KIND_LABELS.get(o.kind, ""), o.place, o.credit_code or "") if part
                ),
            }
            for o in found
        ],
        headers={"Cache-Control": "no-store"},
    )
