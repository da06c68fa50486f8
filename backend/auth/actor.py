"""Who is asking: a signed-in user or an anonymous visitor."""

from dataclasses import dataclass

from backend.auth.models import Role, User


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    # For the page header: "张三 · 南昌某某科技有限公司" rather than a role name.
    organisation_name: str | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    @property
    def organisation_id(self) -> int | None:
        return self.user.organisation_id if self.user else None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_staff(self) -> bool:
        """Matchmakers and admins curate every listing of every organisation."""
        return self.role in (Role.matchmaker, Role.admin)

    def detached(self) -> "Actor":
        """A copy whose user stays readable after the request's session is rolled back and closed.

        Error pages render after the request transaction has ended (the rollback expires every
        loaded object); they show who is signed in from this copy, as it was before the request."""
        if self.user is None:
            return self
        return Actor(user=User(**self.user.model_dump()))

    def belongs_to(self, organisation_id: int | None) -> bool:
        return organisation_id is not None and self.organisation_id == organisation_id


ANONYMOUS = Actor()


def require_signed_in(actor: Actor) -> int:
    """Refuse visitors (401); answers the signed-in user's id."""
    from backend.kit.errors import Unauthorized

    if actor.user_id is None:
        raise Unauthorized("请先登录")
    return actor.user_id


def signed_in_user(actor: Actor) -> User:
    """Refuse visitors (401); answers the signed-in user."""
    require_signed_in(actor)
    assert actor.user is not None
    return actor.user


def require_staff(actor: Actor, message: str) -> None:
    """Refuse anyone but matchmakers and admins: 401 for visitors, 403 for other accounts."""
    from backend.kit.errors import Forbidden

    require_signed_in(actor)
    if not actor.is_staff:
        raise Forbidden(message)


def require_admin(actor: Actor, message: str) -> None:
    """Refuse anyone but admins: 401 for visitors, 403 for other accounts."""
    from backend.kit.errors import Forbidden

    require_signed_in(actor)
    if not actor.is_admin:
        raise Forbidden(message)
