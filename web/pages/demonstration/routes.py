"""十百千 pages: the public progress page and the matchmakers' registry (zones, projects, enterprises, targets)."""

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData, UploadFile

from backend.auth.actor import Actor
from backend.demonstration import presenter, service
from backend.demonstration.models import (
    METRIC_LABELS,
    PROJECT_STATUS_LABELS,
    TARGET_SCOPE_LABELS,
    Metric,
    Milestone,
    ProjectStatus,
    TargetScope,
    next_status,
)
from backend.demonstration.schemas import (
    EnterpriseCreate,
    EnterpriseUpdate,
    MilestoneCreate,
    ProjectCreate,
    ProjectUpdate,
    TargetSet,
    ZoneCreate,
    ZoneUpdate,
)
from backend.dependencies import AdminDep, SessionDep, SettingsDep, SignedInDep, StaffDep
from backend.kit.errors import AppError, NotFound
from backend.kit.pagination import PageParams
from backend.kit.params import IdPath, IdQuery, whole_number
from backend.organisations.models import Organisation
from web.kit.charts import trend_chart
from web.kit.csrf import CheckedForm
from web.kit.flow import RAISED_WITH_FORBIDDEN, attempt
from web.kit.forms import GENERAL, FormErrors, add_app_error, text, validate
from web.kit.paging import page_number
from web.kit.templating import render
from web.kit.urls import url_to

router = APIRouter(prefix="/demonstration")

NOTICES = {
    "zone": "示范区已保存。",
    "project": "示范项目已保存。",
    "enterprise": "高成长性企业已保存。",
    "status": "项目状态已更新。",
    "milestone": "里程碑已添加。",
    "evidence": "佐证材料已上传。",
    "target": "目标已保存。",
}
LABELS = {
    "name": "名称",
    "title": "项目名称",
    "region_code": "地区",
    "tracks": "赛道",
    "lead_organisation": "牵头单位",
    "description": "简介",
    "designated_on": "认定日期",
    "summary": "项目简介",
    "zone_id": "示范区",
    "enterprises": "参与企业",
    "enterprise_ids": "参与企业",
    "investment_wan": "投资额",
    "output_value_wan": "产出",
    "outcome": "成效",
    "organisation": "企业",
    "organisation_id": "企业",
    "year_recognised": "认定年份",
    "recognised_on": "认定日期",
    "indicators": "指标",
    "note": "备注",
    "pairing_id": "对接",
    "opportunity_id": "机会",
    "due_on": "计划完成日期",
    "done_on": "实际完成日期",
    "file": "佐证材料",
    "status": "状态",
    "scope_code": "范围",
    "value": "目标值",
    "year": "年度",
}
_SPLIT_LINES = re.compile(r"[\r\n]+")
PAGE_SIZE = 20
Row = TypeVar("Row")


def _optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def _tracks(form: FormData) -> list[str]:
    return [v for v in form.getlist("tracks") if isinstance(v, str) and v]


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


async def _one_page(
    request: Request, fetch: Callable[[PageParams], Awaitable[tuple[list[Row], int]]], filters: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    """One page of a registry list and what the paging links need; a page past the end (rows deleted since) shows the last one."""
    page = PageParams(page=page_number(request), page_size=PAGE_SIZE)
    rows, total = await fetch(page)
    pages = max(1, -(-total // PAGE_SIZE))
    if page.page > pages:
        page = PageParams(page=pages, page_size=PAGE_SIZE)
        rows, total = await fetch(page)
        pages = max(1, -(-total // PAGE_SIZE))
    return rows, {"page": page.page, "pages": pages, "total": total, "filters": filters}


def _raise_missing(refused: AppError | None) -> None:
    """A missing object is the error page; a 404 about something chosen on the form (it names a field) is shown there."""
    if refused is not None and refused.status_code == 404 and refused.field is None:
        raise refused


async def _options(session: AsyncSession) -> dict[str, Any]:
    places = await service.load_places(session)
    names = await service.track_names(session)
    regions = []
    for code, name in places.names.items():
        city = places.city_of(code)
        # Counties read "南昌市 · 南昌县", so that the list stays grouped by city.
        label = f"{places.names[city]} · {name}" if city and city != code else name
        regions.append((code, label))
    zones = await service.all_zones(session)
    return {
        "region_options": regions,
        "track_options": list(names.items()),
        "zone_options": [(str(z.id), z.name) for z in zones],
        "labels": LABELS,
    }


async def _organisations_by_name(session: AsyncSession, names: list[str], errors: FormErrors, field: str) -> list[int]:
    """People type organisation names; each must name a registered organisation exactly."""
    if not names:
        return []
    found = dict(
        (await session.exec(select(Organisation.name, Organisation.id).where(col(Organisation.name).in_(names)))).all()
    )
    missing = [n for n in names if n not in found]
    if missing:
        errors.add(field, f"找不到组织「{'」「'.join(missing)}」，请填写平台上登记的全称")
    return [found[n] for n in names if n in found]


# ---------------------------------------------------------------- public progress


@router.get("", name="demonstration:progress_page")
async def progress_page(
    request: Request, session: SessionDep, year: int | None = Query(default=None, ge=2000, le=2100)
) -> Response:
    """Targets against actuals, overall, per city and per track, with the year's trend (tables first, charts beside)."""
    progress = await service.progress(session, year=year)
    charts = [
        {
            "metric": m.value,
            "label": METRIC_LABELS[m],
            **trend_chart([(p.month, getattr(p, m.value)) for p in progress.trend]),
        }
        for m in Metric
    ]
    zones = await presenter.zones(session, await service.all_zones(session))
    context = {
        "progress": progress,
        "charts": charts,
        "zones": zones,
        "metrics": [(m.value, METRIC_LABELS[m]) for m in Metric],
    }
    return render(request, "demonstration/progress.html", context)


# ---------------------------------------------------------------- zones


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
    lead = await _organisations_by_name(
        session, [values["lead_organisation"]] if values["lead_organisation"] else [], errors, "lead_organisation"
    )
    payload = {k: v for k, v in values.items() if k != "lead_organisation"} | {
        "lead_organisation_id": lead[0] if lead else None
    }
    schema = ZoneUpdate if zone_id else ZoneCreate
    data = validate(schema, payload, errors, required={"name": "请填写示范区名称", "region_code": "请选择地区"})
    if data is not None:
        _, refused = await attempt(
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


# ---------------------------------------------------------------- projects


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
    names = [n.strip() for n in _SPLIT_LINES.split(values["enterprises"]) if n.strip()]
    enterprise_ids = await _organisations_by_name(session, names, errors, "enterprises")
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
        _, refused = await attempt(
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


async def _read_upload(form: FormData, settings: Any) -> tuple[bytes, str] | None:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(settings.max_attachment_bytes + 1)
    return data, upload.filename


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
    upload = await _read_upload(form, settings)
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
                    upload_dir=settings.upload_dir,
                    max_bytes=settings.max_attachment_bytes,
                )

        # One savepoint: a file refused by its content takes the new milestone with it.
        _, refused = await attempt(session, add_with_evidence, raised=RAISED_WITH_FORBIDDEN)
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
    upload = await _read_upload(form, settings)
    if upload is None:
        errors.add(f"file-{milestone_id}", "请选择要上传的文件")
    else:
        _, refused = await attempt(
            session,
            lambda: service.add_evidence(
                session,
                actor=actor,
                milestone_id=milestone_id,
                data=upload[0],
                filename=upload[1],
                upload_dir=settings.upload_dir,
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


# ---------------------------------------------------------------- high-growth enterprises


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
            errors.add("organisation", "请填写企业全称")
        else:
            found = await _organisations_by_name(session, [values["organisation"]], errors, "organisation")
            payload["organisation_id"] = found[0] if found else None
    data = validate(
        EnterpriseUpdate if enterprise_id else EnterpriseCreate,
        payload,
        errors,
        required={"year_recognised": "请填写认定年份"},
    )
    if data is not None:
        _, refused = await attempt(
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


# ---------------------------------------------------------------- targets


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
        _, refused = await attempt(
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
