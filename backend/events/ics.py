"""iCalendar (RFC 5545) files for meetings: one VEVENT per file, times in UTC.

Pure: text in, text out. Lines end in CRLF and are folded at 75 octets (never inside a
UTF-8 character, since Chinese text is three octets a character); TEXT values escape
backslashes, semicolons, commas and newlines.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

MAX_LINE_OCTETS = 75
PRODID = "-//scenematch//江西省数字经济应用场景供需对接平台//ZH"


def escape_text(value: str) -> str:
    """A TEXT property value (RFC 5545 3.3.11)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Split a content line into pieces of at most 75 octets, continued with CRLF + one space."""
    pieces: list[str] = []
    current, size = "", 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            # The leading space of a continuation line counts towards its 75 octets.
            current, size, limit = "", 0, MAX_LINE_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def format_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to an iCalendar field")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    stamp: datetime
    starts_at: datetime
    ends_at: datetime
    summary: str
    location: str = ""
    description: str = ""
    url: str = ""
    confirmed: bool = False


def calendar(event: CalendarEvent) -> str:
    """A complete VCALENDAR holding one VEVENT."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{format_utc(event.stamp)}",
        f"DTSTART:{format_utc(event.starts_at)}",
        f"DTEND:{format_utc(event.ends_at)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        # URI values are not TEXT: no escaping, only folding.
        lines.append(f"URL:{event.url}")
    lines += [f"STATUS:{'CONFIRMED' if event.confirmed else 'TENTATIVE'}", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)
