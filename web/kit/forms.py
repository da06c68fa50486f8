"""Turn posted forms into service inputs, and service/validation errors into messages next to fields."""

import re
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from backend.kit.errors import AppError
from backend.kit.errors import _message as pydantic_message  # the one table of Chinese validation messages
from backend.listings.models import ListingKind

GENERAL = "__all__"

LISTING_TEXT_FIELDS = ("title", "description", "place", "contact")
KIND_TEXT_FIELDS = {
    ListingKind.opportunity: ("budget_text", "requirements"),
    ListingKind.offering: ("reference_cases", "certifications"),
}
KIND_OPTIONAL_FIELDS = {
    ListingKind.opportunity: ("budget_min", "budget_max", "deadline"),
    ListingKind.offering: ("maturity",),
}
_TAG_SEPARATORS = re.compile(r"[,，、;；\s]+")


class FormErrors(dict[str, str]):
    """Field name → the first message for it; GENERAL holds what belongs to no single field."""

    def add(self, field: str | None, message: str) -> None:
        self.setdefault(field or GENERAL, message)


def text(form: FormData, name: str, limit: int | None = None) -> str:
    """A posted text field, stripped ("" when absent or a file); `limit` cuts overlong input that no schema checks."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


CONFIRM_FIELD = "confirm"


def confirmed(form: FormData) -> bool:
    """The "I understand this cannot be undone" checkbox of an irreversible action.

    The checkbox is `required` in the page (so the browser asks without JavaScript) and checked
    here again, so a form posted without it is refused with a message, not carried out.
    """
    return form.get(CONFIRM_FIELD) == "yes"


def listing_values(form: FormData, kind: ListingKind) -> dict[str, Any]:
    """What the form holds, as the listing schemas expect it (empty optional inputs become None)."""
    values: dict[str, Any] = {name: text(form, name) for name in (*LISTING_TEXT_FIELDS, *KIND_TEXT_FIELDS[kind])}
    for name in ("region_code", *KIND_OPTIONAL_FIELDS[kind]):
        values[name] = text(form, name) or None
    values["tracks"] = [v for v in form.getlist("tracks") if isinstance(v, str) and v]
    values["domains"] = [v for v in form.getlist("domains") if isinstance(v, str) and v]
    values["tags"] = list(dict.fromkeys(t for t in _TAG_SEPARATORS.split(text(form, "tags")) if t))
    return values


def organisation_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        n: text(form, n)
        for n in (
            "name",
            "short_name",
            "credit_code",
            "place",
            "description",
            "website",
            "contact_name",
            "contact_phone",
            "qualifications",
            "reference_cases",
        )
    }
    values["region_code"] = text(form, "region_code") or None
    return values


def validate(schema: type[BaseModel], values: dict[str, Any], errors: FormErrors, *, required: dict[str, str]) -> Any:
    """The schema instance, or None with the messages added to `errors`."""
    for name, message in required.items():
        if not values.get(name):
            errors.add(name, message)
    try:
        result = schema.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error.get("loc") or ()
            message = pydantic_message(dict(error))
            # Cross-field rules have no location; the budget one belongs next to the budget.
            field = str(loc[0]) if loc else ("budget_min" if "预算" in message else None)
            errors.add(field, message)
        return None
    return None if errors else result


def add_app_error(errors: FormErrors, exc: AppError) -> None:
    errors.add(exc.field, exc.detail)
