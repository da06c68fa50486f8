"""Accounts for real people: 企业入驻申请, joining an organisation, invitations, password reset,
password change and one-time sign-in links.

Rules:
- Anyone may apply for an enterprise (企业入驻申请). The credit code must pass GB 32100-2015 and
  may not be held by another organisation; the name may not be taken. The organisation is created
  at once with status `pending` and the applicant's account with it: they can sign in, fill the
  profile and keep drafts, but cannot submit listings or answer (organisations.service.
  require_approved, checked by the listing and answer services) until a matchmaker approves.
- The application reaches the matchmakers' queue only once its email is confirmed by the link.
  Matchmakers approve, or refuse with a reason; the applicant is told in-app and by email.
  Organisations whose name or credit code is close to the applied one are listed with it.
- A second person asks to join an organisation that is on the platform; the organisation's
  admin (the account that registered it) or a matchmaker decides. Until then the account
  belongs to no organisation.
- Invitations are single-use and expire. Staff (matchmakers, admins) invite department staff
  (issuer role) into a department; the enterprise leading a draft answer invites a consortium
  member by name, credit code and email. Accepting a consortium invitation makes the member's
  application (pending approval; the email is proven by the link) and adds the member to the
  answer, where its confirmation is awaited.
- A password reset or sign-in link is answered the same way whether or not the address has an
  account. Links are single-use and expire; a reset ends every session of the account.
"""

from datetime import timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import similarity
from backend.accounts.models import (
    Invitation,
    InvitationKind,
    Registration,
    RegistrationKind,
    RegistrationStatus,
)
from backend.accounts.schemas import (
    ConsortiumInvitationCreate,
    Decision,
    InvitationAccept,
    JoinRequestCreate,
    RegistrationCreate,
    StaffInvitationCreate,
)
from backend.answers.models import Answer, AnswerMember, AnswerStatus
from backend.audit import service as audit
from backend.auth import service as auth_service
from backend.auth.actor import Actor, require_signed_in, require_staff, signed_in_user
from backend.auth.models import Role, TokenPurpose, User
from backend.auth.passwords import hash_password
from backend.kit.db import utcnow
from backend.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.kit.pagination import PageParams
from backend.notifications.service import LINK_LABEL, enqueue_email, notify
from backend.organisations.models import Organisation, OrganisationKind, OrganisationStatus
from backend.settings import Settings
from backend.taxonomy.models import Region

# Site paths of the pages the emailed links open (the mail worker makes them absolute).
CONFIRM_PATH = "/register/confirm/{token}"
RESET_PATH = "/password/reset/{token}"
SIGN_IN_LINK_PATH = "/login/link/{token}"
INVITATION_PATH = "/invitations/{token}"
QUEUE_PATH = "/registrations"

ISSUER_KINDS = {OrganisationKind.government, OrganisationKind.city, OrganisationKind.soe, OrganisationKind.lab}


class RegistrationKinds:
    """Notification kinds (stored as text)."""

    received = "registration_received"
    approved = "registration_approved"
    refused = "registration_refused"


def _id(row: Any) -> int:
    """The primary key of a flushed row (mypy sees `int | None`)."""
    assert row.id is not None
    return int(row.id)


def _link(path: str) -> str:
    return f"\n\n{LINK_LABEL}{path}"


async def _email_unused(session: AsyncSession, email: str) -> None:
    if await auth_service.get_by_email(session, email=email) is not None:
        raise Conflict("该邮箱已注册账号，请直接登录；忘记密码可在登录页找回", field="email")


async def _check_new_organisation(session: AsyncSession, *, name: str, credit_code: str) -> None:
    holder = (await session.exec(select(Organisation).where(Organisation.credit_code == credit_code))).first()
    if holder is not None:
        raise Conflict(
            f"该统一社会信用代码已被平台上的“{holder.name}”使用；如您属于该单位，请申请加入该单位",
            field="credit_code",
        )
    if (await session.exec(select(Organisation.id).where(Organisation.name == name))).first() is not None:
        raise Conflict(f"平台上已有名为“{name}”的组织；如您属于该单位，请申请加入该单位", field="organisation_name")


async def similar_organisations(
    session: AsyncSession, *, name: str, credit_code: str | None, exclude_id: int | None = None
) -> list[int]:
    """Ids of organisations whose name or credit code is close to these (likely duplicates)."""
    rows = await session.exec(select(Organisation.id, Organisation.name, Organisation.credit_code))
    found: list[int] = []
    for organisation_id, other_name, other_code in rows.all():
        if organisation_id is None or organisation_id == exclude_id:
            continue
        if similarity.names_close(name, other_name) or similarity.codes_close(credit_code, other_code):
            found.append(organisation_id)
    return found[:20]


async def _send_confirmation(session: AsyncSession, settings: Settings, user: User) -> None:
    token = await auth_service.issue_token(
        session,
        user_id=user.id,  # type: ignore[arg-type]
        purpose=TokenPurpose.confirm_email,
        lifetime=timedelta(hours=settings.confirm_email_hours),
    )
    await enqueue_email(
        session,
        to=user.email,
        subject="请确认您的邮箱（场景对接平台入驻申请）",
        body=(
            f"{user.display_name}，您好：\n\n您在江西省数字经济应用场景供需对接平台提交了申请。"
            f"请在 {settings.confirm_email_hours} 小时内打开下面的链接确认邮箱，确认后申请将提交撮合专员审核。"
            "如果不是您本人操作，请忽略本邮件。" + _link(CONFIRM_PATH.format(token=token))
        ),
    )


async def register(session: AsyncSession, *, data: RegistrationCreate, settings: Settings) -> Registration:
    """企业入驻申请: a pending enterprise, its first account (the organisation's admin), a confirmation email."""
    await _email_unused(session, data.email)
    auth_service.check_new_password(data.password, email=data.email, field="password")
    await _check_new_organisation(session, name=data.organisation_name, credit_code=data.credit_code)
    if await session.get(Region, data.region_code) is None:
        raise Unprocessable("所在地区不存在，请从列表中选择", field="region_code")
    similar = await similar_organisations(session, name=data.organisation_name, credit_code=data.credit_code)
    organisation = Organisation(
        name=data.organisation_name,
        kind=OrganisationKind.enterprise,
        credit_code=data.credit_code,
        region_code=data.region_code,
        status=OrganisationStatus.pending,
        contact_name=data.contact_name,
        contact_phone=data.phone,
    )
    session.add(organisation)
    await session.flush()
    user = User(
        email=data.email,
        password_hash=hash_password(data.password),
        display_name=data.contact_name,
        role=Role.enterprise,
        organisation_id=organisation.id,
        is_organisation_admin=True,
    )
    session.add(user)
    await session.flush()
    registration = Registration(
        kind=RegistrationKind.new_organisation,
        user_id=user.id,  # type: ignore[arg-type]
        organisation_id=organisation.id,  # type: ignore[arg-type]
        organisation_name=organisation.name,
        credit_code=organisation.credit_code,
        region_code=organisation.region_code,
        contact_name=data.contact_name,
        phone=data.phone,
        email=data.email,
        note=data.note,
        similar=similar,
    )
    session.add(registration)
    await session.flush()
    await audit.record(
        session,
        actor=None,
        entity_kind="registration",
        entity_id=_id(registration),
        action="applied",
        to_state=registration.status,
    )
    await _send_confirmation(session, settings, user)
    return registration


async def request_join(session: AsyncSession, *, data: JoinRequestCreate, settings: Settings) -> Registration:
    """A request to join an organisation already on the platform (found by credit code or exact name)."""
    if data.credit_code is None and not data.organisation_name:
        raise Unprocessable("请填写所属单位的统一社会信用代码或全称", field="credit_code")
    await _email_unused(session, data.email)
    auth_service.check_new_password(data.password, email=data.email, field="password")
    query = select(Organisation).where(col(Organisation.status).in_([OrganisationStatus.active]))
    if data.credit_code is not None:
        query = query.where(Organisation.credit_code == data.credit_code)
    else:
        query = query.where(Organisation.name == data.organisation_name)
    organisation = (await session.exec(query)).first()
    if organisation is None:
        raise NotFound("平台上没有找到该单位（或其入驻申请尚未通过）；企业可提交入驻申请")
    user = User(
        email=data.email,
        password_hash=hash_password(data.password),
        display_name=data.contact_name,
        role=Role.enterprise if organisation.kind == OrganisationKind.enterprise else Role.issuer,
        organisation_id=None,  # joins the organisation only when approved
    )
    session.add(user)
    await session.flush()
    registration = Registration(
        kind=RegistrationKind.join_request,
        user_id=user.id,  # type: ignore[arg-type]
        organisation_id=organisation.id,  # type: ignore[arg-type]
        organisation_name=organisation.name,
        credit_code=organisation.credit_code,
        region_code=organisation.region_code,
        contact_name=data.contact_name,
        phone=data.phone,
        email=data.email,
        note=data.note,
    )
    session.add(registration)
    await session.flush()
    await audit.record(
        session,
        actor=None,
        entity_kind="registration",
        entity_id=_id(registration),
        action="join-requested",
        to_state=registration.status,
    )
    await _send_confirmation(session, settings, user)
    return registration


async def _deciders(session: AsyncSession, registration: Registration) -> list[int]:
    """Who hears of a confirmed application: matchmakers, and for a join request the organisation's admins."""
    query = select(User.id).where(col(User.is_active), User.role == Role.matchmaker)
    ids = [i for i in (await session.exec(query)).all() if i is not None]
    if registration.kind == RegistrationKind.join_request:
        admins = select(User.id).where(
            col(User.is_active), User.organisation_id == registration.organisation_id, col(User.is_organisation_admin)
        )
        ids += [i for i in (await session.exec(admins)).all() if i is not None]
    return ids


async def _submit_for_review(session: AsyncSession, registration: Registration) -> None:
    registration.status = RegistrationStatus.pending
    session.add(registration)
    await session.flush()
    what = "加入单位申请" if registration.kind == RegistrationKind.join_request else "企业入驻申请"
    flag = "（名称或信用代码与已有组织相近，请核对）" if registration.similar else ""
    await notify(
        session,
        user_ids=await _deciders(session, registration),
        kind=RegistrationKinds.received,
        title=f"新的{what}待审核：{registration.organisation_name}",
        body=f"{registration.contact_name}（{registration.email}）提交了{what}{flag}。",
        link=f"{QUEUE_PATH}/{registration.id}",
        email=False,
    )


async def confirm_email(session: AsyncSession, *, token: str) -> Registration | None:
    """Follow the confirmation link: the address is confirmed and the application goes to the queue."""
    user = await auth_service.use_token(session, token=token, purpose=TokenPurpose.confirm_email)
    registration = (
        await session.exec(
            select(Registration).where(
                Registration.user_id == user.id, Registration.status == RegistrationStatus.unconfirmed
            )
        )
    ).first()
    if registration is not None:
        await _submit_for_review(session, registration)
        await audit.record(
            session,
            actor=Actor(user=user),
            entity_kind="registration",
            entity_id=_id(registration),
            action="email-confirmed",
            from_state=RegistrationStatus.unconfirmed,
            to_state=registration.status,
        )
    return registration


async def resend_confirmation(session: AsyncSession, *, actor: Actor, settings: Settings) -> None:
    user = signed_in_user(actor)
    if user.email_confirmed_at is not None:
        raise Conflict("邮箱已经确认过了")
    await _send_confirmation(session, settings, user)


def can_decide(actor: Actor, registration: Registration) -> bool:
    if actor.is_staff:
        return True
    return (
        registration.kind == RegistrationKind.join_request
        and actor.user is not None
        and actor.user.is_organisation_admin
        and actor.belongs_to(registration.organisation_id)
    )


async def get_readable(session: AsyncSession, *, actor: Actor, registration_id: int) -> Registration:
    """A registration, for those who decide on it (staff; an organisation's admin for joins) or its applicant."""
    require_signed_in(actor)
    registration = await session.get(Registration, registration_id)
    if registration is None or not (can_decide(actor, registration) or registration.user_id == actor.user_id):
        raise NotFound("申请不存在")
    return registration


async def list_queue(
    session: AsyncSession,
    *,
    actor: Actor,
    page: PageParams,
    status: RegistrationStatus | None = RegistrationStatus.pending,
    q: str | None = None,
) -> tuple[list[Registration], int]:
    """The decision queue: every application for staff, their own join requests for an organisation's admin."""
    require_signed_in(actor)
    query = select(Registration)
    if not actor.is_staff:
        if actor.user is None or not actor.user.is_organisation_admin or actor.organisation_id is None:
            raise Forbidden("只有撮合专员或本单位管理员可以审核申请")
        query = query.where(
            Registration.kind == RegistrationKind.join_request, Registration.organisation_id == actor.organisation_id
        )
    if status is not None:
        query = query.where(Registration.status == status)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            col(Registration.organisation_name).like(pattern, escape="\\")
            | col(Registration.email).like(pattern, escape="\\")
            | col(Registration.credit_code).like(pattern, escape="\\")
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(
        query.order_by(col(Registration.created_at), col(Registration.id)).offset(page.offset).limit(page.page_size)
    )
    return list(rows.all()), total


async def organisations_by_id(session: AsyncSession, ids: list[int]) -> list[Organisation]:
    if not ids:
        return []
    return list((await session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))).all())


async def decide(session: AsyncSession, *, actor: Actor, registration_id: int, data: Decision) -> Registration:
    """Approve or refuse (with a reason) a confirmed application; the applicant is told in-app and by email."""
    registration = await get_readable(session, actor=actor, registration_id=registration_id)
    if not can_decide(actor, registration):
        raise Forbidden("只有撮合专员（或本单位管理员审核加入申请）可以审核")
    if registration.status == RegistrationStatus.unconfirmed:
        raise Conflict("申请人尚未确认邮箱，暂不能审核")
    if registration.status != RegistrationStatus.pending:
        raise Conflict("该申请已经审核过了")
    if not data.approve and not data.reason:
        raise Unprocessable("不通过时请填写原因，申请人会看到", field="reason")
    organisation = await session.get(Organisation, registration.organisation_id)
    user = await session.get(User, registration.user_id)
    if organisation is None or user is None:
        raise NotFound("申请不存在")
    previous = registration.status
    registration.status = RegistrationStatus.approved if data.approve else RegistrationStatus.refused
    registration.reason = data.reason
    registration.decided_by_id = actor.user_id
    registration.decided_at = utcnow()
    session.add(registration)
    if registration.kind == RegistrationKind.new_organisation:
        organisation.status = OrganisationStatus.active if data.approve else OrganisationStatus.withdrawn
        session.add(organisation)
        what = "企业入驻申请"
    else:
        if data.approve:
            user.organisation_id = organisation.id
            session.add(user)
        what = "加入单位申请"
    await session.flush()
    await audit.record(
        session,
        actor=actor,
        entity_kind="registration",
        entity_id=_id(registration),
        action="approved" if data.approve else "refused",
        from_state=previous,
        to_state=registration.status,
        note=data.reason,
    )
    if data.approve:
        title = f"您的{what}已通过：{organisation.name}"
        body = f"您的{what}已审核通过，现在可以提交清单、答题和参与联合体。"
    else:
        title = f"您的{what}未通过：{organisation.name}"
        body = f"很抱歉，您的{what}未通过审核。原因：{data.reason}\n如有疑问，请联系平台撮合专员。"
    await notify(
        session,
        user_ids=[user.id],  # type: ignore[list-item]
        kind=RegistrationKinds.approved if data.approve else RegistrationKinds.refused,
        title=title,
        body=body,
        link="/workspace",
    )
    return registration


async def my_registration(session: AsyncSession, *, actor: Actor) -> Registration | None:
    if actor.user_id is None:
        return None
    return (
        await session.exec(
            select(Registration).where(Registration.user_id == actor.user_id).order_by(col(Registration.id).desc())
        )
    ).first()


# Passwords and sign-in links.

SAME_ANSWER_RESET = "如果该邮箱已注册，重置密码的链接已发送到该邮箱，请查收（也请检查垃圾邮件）。"
SAME_ANSWER_LINK = "如果该邮箱已注册，一次性登录链接已发送到该邮箱，请查收。"


async def request_password_reset(session: AsyncSession, *, email: str, settings: Settings) -> str:
    """Send a reset link when the address has an active account; the answer is the same either way."""
    user = await auth_service.get_by_email(session, email=email)
    if user is not None and user.is_active:
        token = await auth_service.issue_token(
            session,
            user_id=user.id,  # type: ignore[arg-type]
            purpose=TokenPurpose.reset_password,
            lifetime=timedelta(minutes=settings.reset_password_minutes),
        )
        await enqueue_email(
            session,
            to=user.email,
            subject="重置您的场景对接平台密码",
            body=(
                f"{user.display_name}，您好：\n\n有人（希望是您本人）申请重置您在场景对接平台的密码。"
                f"请在 {settings.reset_password_minutes} 分钟内打开下面的链接设置新密码；链接只能使用一次。"
                "设置新密码后，您账号的所有登录都会退出。如果不是您本人操作，请忽略本邮件，密码不会改变。"
                + _link(RESET_PATH.format(token=token))
            ),
        )
    return SAME_ANSWER_RESET


async def reset_password(session: AsyncSession, *, token: str, password: str) -> User:
    """Use a reset link: the new password is set and every session of the account ends."""
    user = await auth_service.peek_token(session, token=token, purpose=TokenPurpose.reset_password)
    auth_service.check_new_password(password, email=user.email)
    user = await auth_service.use_token(session, token=token, purpose=TokenPurpose.reset_password)
    await auth_service.set_password(session, user=user, password=password)
    await audit.record(
        session, actor=Actor(user=user), entity_kind="user", entity_id=_id(user), action="password-reset"
    )
    return user


async def send_reset_link_for(session: AsyncSession, *, actor: Actor, user_id: int, settings: Settings) -> User:
    """An admin sends an account's owner a reset link (the admin never sees or sets the password)."""
    if not actor.is_admin:
        raise Forbidden("只有管理员可以为账号发送重置密码链接")
    user = await auth_service.get_user(session, user_id=user_id)
    await request_password_reset(session, email=user.email, settings=settings)
    await audit.record(session, actor=actor, entity_kind="user", entity_id=user_id, action="reset-link-sent")
    return user


async def request_sign_in_link(session: AsyncSession, *, email: str, settings: Settings) -> str:
    user = await auth_service.get_by_email(session, email=email)
    if user is not None and user.is_active:
        token = await auth_service.issue_token(
            session,
            user_id=user.id,  # type: ignore[arg-type]
            purpose=TokenPurpose.sign_in,
            lifetime=timedelta(minutes=settings.sign_in_link_minutes),
        )
        await enqueue_email(
            session,
            to=user.email,
            subject="您的一次性登录链接（场景对接平台）",
            body=(
                f"{user.display_name}，您好：\n\n请在 {settings.sign_in_link_minutes} 分钟内打开下面的链接登录，"
                "链接只能使用一次。如果您没有申请，说明有人在尝试登录您的账号：请不要打开链接，"
                "您的密码仍然安全；若担心密码泄露，请登录后修改密码。" + _link(SIGN_IN_LINK_PATH.format(token=token))
            ),
        )
    return SAME_ANSWER_LINK


async def sign_in_with_link(session: AsyncSession, *, token: str) -> User:
    user = await auth_service.use_token(session, token=token, purpose=TokenPurpose.sign_in)
    await audit.record(session, actor=Actor(user=user), entity_kind="user", entity_id=_id(user), action="link-sign-in")
    return user


# Invitations.


async def _invite(
    session: AsyncSession, *, actor: Actor, invitation: Invitation, settings: Settings, intro: str
) -> tuple[Invitation, str]:
    import secrets

    from backend.auth.service import _token_hash

    token = secrets.token_urlsafe(32)
    invitation.token_hash = _token_hash(token)
    invitation.invited_by_id = actor.user_id  # type: ignore[assignment]
    invitation.expires_at = utcnow() + timedelta(days=settings.invitation_days)
    session.add(invitation)
    await session.flush()
    await enqueue_email(
        session,
        to=invitation.email,
        subject="邀请您加入江西省数字经济应用场景供需对接平台",
        body=(
            f"{invitation.display_name or '您好'}：\n\n{intro}\n请在 {settings.invitation_days} 天内打开下面的链接设置密码、"
            "创建账号；链接只能使用一次。" + _link(INVITATION_PATH.format(token=token))
        ),
    )
    await audit.record(
        session,
        actor=actor,
        entity_kind="invitation",
        entity_id=_id(invitation),
        action="invited",
        note=invitation.email,
    )
    return invitation, token


async def invite_staff(
    session: AsyncSession, *, actor: Actor, data: StaffInvitationCreate, settings: Settings
) -> Invitation:
    """An admin or matchmaker invites a department's staff member (issuer role)."""
    require_staff(actor, "只有撮合专员或管理员可以邀请部门人员")
    organisation = await session.get(Organisation, data.organisation_id)
    if organisation is None or organisation.status != OrganisationStatus.active:
        raise Unprocessable("所属单位不存在或已撤销", field="organisation_id")
    if organisation.kind not in ISSUER_KINDS:
        raise Unprocessable("只能邀请政府部门、设区市、国有企业或实验室的人员作为出卷方", field="organisation_id")
    await _email_unused(session, data.email)
    invitation = Invitation(
        token_hash="",
        kind=InvitationKind.staff,
        email=data.email,
        display_name=data.display_name,
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        invited_by_id=0,
        expires_at=utcnow(),
    )
    invitation, _ = await _invite(
        session,
        actor=actor,
        invitation=invitation,
        settings=settings,
        intro=f"平台工作人员邀请您以“{organisation.name}”出卷方的身份使用平台，发布应用场景、评审答题。",
    )
    return invitation


async def invite_consortium_member(
    session: AsyncSession, *, actor: Actor, answer_id: int, data: ConsortiumInvitationCreate, settings: Settings
) -> Invitation:
    """The enterprise leading a draft answer invites a member enterprise that is not on the platform yet."""
    from backend.organisations.service import require_approved

    require_signed_in(actor)
    answer = await session.get(Answer, answer_id)
    if answer is None or actor.role != Role.enterprise or not actor.belongs_to(answer.lead_organisation_id):
        raise NotFound("答题不存在")
    await require_approved(session, actor)
    if answer.status != AnswerStatus.draft:
        raise Conflict("答题已提交，不能再邀请联合体成员")
    holder = (await session.exec(select(Organisation).where(Organisation.credit_code == data.credit_code))).first()
    if holder is not None:
        raise Conflict(f"该企业已在平台上（{holder.name}），请直接在答题中把它添加为联合体成员", field="credit_code")
    await _email_unused(session, data.email)
    lead = await session.get(Organisation, answer.lead_organisation_id)
    invitation = Invitation(
        token_hash="",
        kind=InvitationKind.consortium,
        email=data.email,
        display_name=data.display_name,
        organisation_name=data.organisation_name,
        credit_code=data.credit_code,
        answer_id=answer.id,
        invited_by_id=0,
        expires_at=utcnow(),
    )
    invitation, _ = await _invite(
        session,
        actor=actor,
        invitation=invitation,
        settings=settings,
        intro=(
            f"“{lead.name if lead else ''}”邀请“{data.organisation_name}”作为联合体成员，共同答题“{answer.title}”。"
            "创建账号后，贵企业的入驻申请将由撮合专员审核，通过后即可在平台上确认参与该联合体。"
        ),
    )
    return invitation


async def peek_invitation(session: AsyncSession, *, token: str) -> Invitation:
    from backend.auth.service import LinkInvalid, _token_hash

    if not token or len(token) > 200:
        raise LinkInvalid("邀请链接无效")
    invitation = (await session.exec(select(Invitation).where(Invitation.token_hash == _token_hash(token)))).first()
    if invitation is None:
        raise LinkInvalid("邀请链接无效")
    if invitation.used_at is not None:
        raise LinkInvalid("该邀请链接已经使用过，请直接登录")
    if invitation.expires_at <= utcnow():
        raise LinkInvalid("该邀请链接已过期，请联系邀请人重新邀请")
    return invitation


async def accept_invitation(session: AsyncSession, *, data: InvitationAccept) -> tuple[User, Registration | None]:
    """Use an invitation: the account (and for a consortium member its pending organisation) is made."""
    invitation = await peek_invitation(session, token=data.token)
    auth_service.check_new_password(data.password, email=invitation.email, field="password")
    await _email_unused(session, invitation.email)
    now = utcnow()
    invitation.used_at = now
    session.add(invitation)
    registration = None
    if invitation.kind == InvitationKind.staff:
        organisation = await session.get(Organisation, invitation.organisation_id)
        if organisation is None or organisation.status != OrganisationStatus.active:
            raise Conflict("邀请您加入的单位已撤销，请联系邀请人")
        user = User(
            email=invitation.email,
            password_hash=hash_password(data.password),
            display_name=data.display_name,
            role=Role.issuer,
            organisation_id=organisation.id,
            email_confirmed_at=now,
        )
        session.add(user)
        await session.flush()
    else:
        assert invitation.credit_code is not None
        await _check_new_organisation(session, name=invitation.organisation_name, credit_code=invitation.credit_code)
        if data.region_code is not None and await session.get(Region, data.region_code) is None:
            raise Unprocessable("所在地区不存在，请从列表中选择", field="region_code")
        organisation = Organisation(
            name=invitation.organisation_name,
            kind=OrganisationKind.enterprise,
            credit_code=invitation.credit_code,
            region_code=data.region_code,
            status=OrganisationStatus.pending,
            contact_name=data.display_name,
            contact_phone=data.phone,
        )
        session.add(organisation)
        await session.flush()
        invitation.organisation_id = organisation.id
        user = User(
            email=invitation.email,
            password_hash=hash_password(data.password),
            display_name=data.display_name,
            role=Role.enterprise,
            organisation_id=organisation.id,
            is_organisation_admin=True,
            email_confirmed_at=now,
        )
        session.add(user)
        await session.flush()
        registration = Registration(
            kind=RegistrationKind.new_organisation,
            status=RegistrationStatus.unconfirmed,
            user_id=user.id,  # type: ignore[arg-type]
            organisation_id=organisation.id,  # type: ignore[arg-type]
            organisation_name=organisation.name,
            credit_code=organisation.credit_code,
            region_code=organisation.region_code,
            contact_name=data.display_name,
            phone=data.phone,
            email=invitation.email,
            note="经联合体牵头企业邀请注册",
            invitation_id=invitation.id,
            similar=await similar_organisations(
                session, name=organisation.name, credit_code=organisation.credit_code, exclude_id=organisation.id
            ),
        )
        session.add(registration)
        answer = await session.get(Answer, invitation.answer_id) if invitation.answer_id else None
        if answer is not None and answer.status == AnswerStatus.draft:
            session.add(AnswerMember(answer_id=answer.id, organisation_id=organisation.id))  # type: ignore[arg-type]
        await session.flush()
        # The invitation link proved the address: straight to the matchmakers' queue.
        await _submit_for_review(session, registration)
    await audit.record(
        session,
        actor=Actor(user=user),
        entity_kind="invitation",
        entity_id=_id(invitation),
        action="accepted",
        note=invitation.email,
    )
    return user, registration
