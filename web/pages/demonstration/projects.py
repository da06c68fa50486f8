"""Demonstration projects: list, forms, the project page with its pipeline, milestones and evidence."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from backend.auth.actor import Actor
from backend.demonstration import presenter, service
from backend.demonstration.models import (
    PROJECT_STATUS_LABELS,
    Milestone,
    ProjectStatus,
    next_status,
)
from backend.demonstration.schemas import (
    MilestoneCreate,
    ProjectCreate,
    ProjectUpdate,
)
from backend.dependencies import SessionDep, SettingsDep, SignedInDep, StaffDep
from backend.kit.errors import NotFound
from backend.kit.params import IdPath, IdQuery
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import GENERAL, FormErrors, add_app_error, text, validate
from web.kit.orgpicker import resolve_organisations
from web.kit.templating import render
from web.kit.uploads import read_upload, store_upload
from web.kit.urls import url_to
from web.pages.demonstration.shared import (
    LABELS,
    _notice,
    _one_page,
    _optional,
    _options,
    _raise_missing,
    _tracks,
)

router = APIRouter(prefix="/demonstration")


@router.get("/projects", name="demonstration:projects_page")
async def projects_page(
    request: Request, session: SessionDep, actor: StaffDep, status: ProjectStatus | None = None
) -> Response:
    rows, paging = await _one_page(
        request,
        lambda page: service.list_projects(session, actor=actor, page=page, status=status),
        {"status": status.value if status else None},
    )
    projects = await presenter.projects(session, rows)
    context = {
        "projects": projects,
        "paging": paging,
        "status": status.value if status else "",
        "statuses": list(PROJECT_STATUS_LABELS.items()),
        "notice": _notice(request),
    }
    return render(request, "demonstration/projects.html", context)


async def _project_form(
    request: Request,
    session: SessionDep,
    *,
    values: dict,
    errors: FormErrors,
    project_id: int | None,
    status: int = 200,
) -> Response:
    context = {**await _options(session), "values": values, "errors": errors, "project_id": project_id}
    return render(request, "demonstration/project_form.html", context, status=status)


def _project_values(form: FormData) -> dict[str, Any]:
    return {
        "title": text(form, "title"),
        "summary": text(form, "summary"),
        "zone_id": _optional(form, "zone_id"),
        "region_code": _optional(form, "region_code"),
        "tracks": _tracks(form),
        "enterprises": text(form, "enterprises"),
        "investment_wan": _optional(form, "investment_wan"),
        "output_value_wan": _optional(form, "output_value_wan"),
        "outcome": text(form, "outcome"),
        "pairing_id": _optional(form, "pairing_id"),
        "opportunity_id": _optional(form, "opportunity_id"),
    }


@router.get("/projects/new", name="demonstration:new_project")
async def new_project(request: Request, session: SessionDep, actor: StaffDep, pairing_id: IdQuery = None) -> Response:
    """A blank form, or with `?pairing_id=N` the project that pairing (at 示范) proposes, prefilled."""
    values: dict[str, Any] = {"tracks": []}
    if pairing_id is not None:
        proposal = await service.proposal_from_pairing(session, pairing_id)
        values = {
            "title": proposal.title[:200],
            "summary": proposal.summary,
            "zone_id": str(proposal.zone_id) if proposal.zone_id else None,
            "region_code": proposal.region_code,
            "tracks": proposal.tracks,
            "enterprises": "\n".join(e.name for e in proposal.enterprises),
            "pairing_id": str(proposal.pairing_id),
            "opportunity_id": str(proposal.opportunity_id),
        }
    return await _project_form(request, session, values=values, errors=FormErrors(), project_id=None)


@router.get("/projects/{project_id}/edit", name="demonstration:edit_project")
async def edit_project(project_id: IdPath, request: Request, session: SessionDep, actor: StaffDep) -> Response:
    project = await service.get_project_readable(session, actor=actor, project_id=project_id)
    shown = (await presenter.projects(session, [project]))[0]
    values = {
        "title": shown.title,
        "summary": shown.summary,
        "zone_id": str(shown.zone.id) if shown.zone else None,
        "region_code": shown.region.code if shown.region else None,
        "tracks": [t.code for t in shown.tracks],
        "enterprises": "\n".join(e.name for e in shown.enterprises),
        "outcome": shown.outcome,
        "investment_wan": shown.investment_wan,
        "output_value_wan": shown.output_value_wan,
    }
    return await _project_form(request, session, values=values, errors=FormErrors(), project_id=project_id)


async def _save_project(
    request: Request, form: FormData, session: SessionDep, actor: Actor, project_id: int | None
) -> Response:
    values, errors = _project_values(form), FormErrors()
    enterprise_ids = await resolve_organisations(
        session, actor=actor, typed=values["enterprises"], errors=errors, field="enterprises"
    )
    payload = {k: v for k, v in values.items() if k not in ("enterprises", "pairing_id", "opportunity_id")}
    payload["enterprise_ids"] = enterprise_ids
    if project_id is None:
        payload |= {"pairing_id": values["pairing_id"], "opportunity_id": values["opportunity_id"]}
    data = validate(
        ProjectUpdate if project_id else ProjectCreate, payload, errors, required={"title": "请填写项目名称"}
    )
    if data is not None:
        project, refused = await attempt(
            session,
            lambda: (
                service.update_project(session, actor=actor, project_id=project_id, data=data)
                if project_id
                else service.create_project(session, actor=actor, data=data)
            ),
            raised=(401, 403),
        )
        _raise_missing(refused)
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        return await _project_form(request, session, values=values, errors=errors, project_id=project_id, status=422)
    return RedirectResponse(
        url_to(request, "demonstration:project_page", project_id=project.id) + "?done=project", status_code=303
    )


@router.post("/projects/new", name="demonstration:create_project")
async def create_project(request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep) -> Response:
    return await _save_project(request, form, session, actor, None)


@router.post("/projects/{project_id}/edit", name="demonstration:update_project")
async def update_project(
    project_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    await service.get_project_readable(session, actor=actor, project_id=project_id)
    return await _save_project(request, form, session, actor, project_id)


async def _project_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    project_id: int,
    *,
    errors: FormErrors | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Response:
    project = await service.get_project_readable(session, actor=actor, project_id=project_id)
    shown = (await presenter.projects(session, [project], with_milestones=True))[0]
    following = next_status(project.status)
    context = {
        "project": shown,
        "next_status": (following.value, PROJECT_STATUS_LABELS[following]) if following else None,
        "pipeline": list(PROJECT_STATUS_LABELS.items()),
        "errors": errors or FormErrors(),
        "values": values or {},
        "labels": LABELS,
        "notice": _notice(request),
    }
    return render(request, "demonstration/project.html", context, status=status)


@router.get("/projects/{project_id}", name="demonstration:project_page")
async def project_page(project_id: IdPath, request: Request, session: SessionDep, actor: SignedInDep) -> Response:
    """Matchmakers and the organisations taking part; only matchmakers see the forms."""
    return await _project_page(request, session, actor, project_id)


@router.post("/projects/{project_id}/status", name="demonstration:move_project")
async def move_project(
    project_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, actor: StaffDep
) -> Response:
    errors = FormErrors()
    raw = text(form, "status")
    if raw not in ProjectStatus.__members__:
        errors.add("status", "请选择状态")
    else:
        _done, refused = await attempt(
            session,
            lambda: service.move_project(
                session, actor=actor, project_id=project_id, to=ProjectStatus(raw), note=text(form, "note")[:2000]
            ),
            raised=RAISED_WITH_FORBIDDEN,
        )
        if refused is not None:
            errors.add(GENERAL, refused.detail)
    if errors:
        return await _project_page(
            request, session, actor, project_id, errors=errors, status=409 if GENERAL in errors else 422
        )
    return RedirectResponse(
        url_to(request, "demonstration:project_page", project_id=project_id) + "?done=status", status_code=303
    )


@router.post("/projects/{project_id}/milestones", name="demonstration:add_milestone")
async def add_milestone(
    project_id: IdPath, request: Request, form: CheckedForm, session: SessionDep, settings: SettingsDep, actor: StaffDep
) -> Response:
    """A milestone with (optionally) its first evidence file; a refused file saves nothing."""
    values = {
        "title": text(form, "title"),
        "due_on": _optional(form, "due_on"),
        "done_on": _optional(form, "done_on"),
        "note": text(form, "note"),
    }
    errors = FormErrors()
    data = validate(MilestoneCreate, values, errors, required={"title": "请填写里程碑名称"})
    upload = await read_upload(form, settings.max_attachment_bytes)
    if data is not None:

        async def add_with_evidence() -> None:
            milestone = await service.add_milestone(session, actor=actor, project_id=project_id, data=data)
            if upload is not None:
                await service.add_evidence(
                    session,
                    actor=actor,
                    milestone_id=milestone.id,
                    data=upload[0],
                    filename=upload[1],
                    max_bytes=settings.max_attachment_bytes,
                )

        # One savepoint: a file refused by its content takes the new milestone with it.
        _done, refused = await attempt(session, add_with_evidence, raised=RAISED_WITH_FORBIDDEN)
        if refused is not None:
            add_app_error(errors, refused)
    if errors:
        return await _project_page(request, session, actor, project_id, errors=errors, values=values, status=422)
    return RedirectResponse(
        url_to(request, "demonstration:project_page", project_id=project_id) + "?done=milestone", status_code=303
    )


@router.post("/milestones/{milestone_id}/attachments", name="demonstration:add_evidence")
async def add_evidence(
    milestone_id: IdPath,
    request: Request,
    form: CheckedForm,
    session: SessionDep,
    settings: SettingsDep,
    actor: StaffDep,
) -> Response:
    milestone = await session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound("里程碑不存在")
    errors = FormErrors()
    refused = await store_upload(
        session,
        form,
        settings.max_attachment_bytes,
        lambda data, filename: service.add_evidence(
            session,
            actor=actor,
            milestone_id=milestone_id,
            data=data,
            filename=filename,
            max_bytes=settings.max_attachment_bytes,
        ),
        raised=RAISED_WITH_FORBIDDEN,
    )
    if refused is not None:
        errors.add(f"file-{milestone_id}", refused.detail)
    if errors:
        return await _project_page(request, session, actor, milestone.project_id, errors=errors, status=422)
    return RedirectResponse(
        url_to(request, "demonstration:project_page", project_id=milestone.project_id) + "?done=evidence",
        status_code=303,
    )
