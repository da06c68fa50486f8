"""Meeting calendar files follow RFC 5545: CRLF lines, folding at 75 octets, escaped text, UTC times."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.events.ics import CalendarEvent, calendar, escape_text, fold

CHINA = timezone(timedelta(hours=8))


def unfold(text: str) -> list[str]:
    assert text.endswith("\r\n")
    return text.replace("\r\n ", "").removesuffix("\r\n").split("\r\n")


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            out.append({"n": "\n", "N": "\n"}.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def properties(text: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in unfold(text))


def sample(**overrides) -> CalendarEvent:
    fields = {
        "uid": "meeting-7-event-3@scenematch",
        "stamp": datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        "starts_at": datetime(2026, 12, 1, 9, 30, tzinfo=CHINA),
        "ends_at": datetime(2026, 12, 1, 10, 0, tzinfo=CHINA),
        "summary": "一对一洽谈：路口信号配时优化",
        "location": "南昌市红谷滩区会展中心, 3号厅; A区",
        "description": "对接会：数字经济\n企业：赣江科技",
    }
    fields.update(overrides)
    return CalendarEvent(**fields)


def test_the_file_parses_back_with_utc_times_and_required_properties():
    text = calendar(sample())
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.index("BEGIN:VEVENT") < lines.index("END:VEVENT")
    props = properties(text)
    assert props["VERSION"] == "2.0" and props["PRODID"]
    assert props["UID"] == "meeting-7-event-3@scenematch"
    assert props["DTSTAMP"] == "20261124T100000Z"
    # 09:30 in Nanchang is 01:30 UTC.
    assert props["DTSTART"] == "20261201T013000Z" and props["DTEND"] == "20261201T020000Z"
    assert unescape(props["SUMMARY"]) == "一对一洽谈：路口信号配时优化"
    assert unescape(props["LOCATION"]) == "南昌市红谷滩区会展中心, 3号厅; A区"
    assert unescape(props["DESCRIPTION"]) == "对接会：数字经济\n企业：赣江科技"


def test_commas_semicolons_backslashes_and_newlines_are_escaped():
    assert escape_text("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"
    props = properties(calendar(sample(location="会议室,二楼;东侧")))
    assert props["LOCATION"] == "会议室\\,二楼\\;东侧"


def test_every_line_ends_in_crlf_and_no_bare_newline_is_left():
    text = calendar(sample(description="第一行\n第二行\r第三行"))
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def test_long_chinese_lines_are_folded_at_75_octets_without_splitting_a_character():
    summary = "数字经济应用场景一对一洽谈" * 12
    text = calendar(sample(summary=summary))
    for physical in text.split("\r\n")[:-1]:
        assert len(physical.encode("utf-8")) <= 75
        physical.encode("utf-8").decode("utf-8")  # each piece is whole characters
    assert unescape(properties(text)["SUMMARY"]) == summary
    assert any(line.startswith(" ") for line in text.split("\r\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=300))
def test_folding_never_loses_text_and_keeps_lines_short(line):
    folded = fold(line)
    assert folded.replace("\r\n ", "") == line
    assert all(len(piece.encode("utf-8")) <= 75 for piece in folded.split("\r\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_summary_round_trips(summary):
    props = properties(calendar(sample(summary=summary)))
    assert unescape(props["SUMMARY"]) == summary.replace("\r\n", "\n").replace("\r", "\n")


def test_a_naive_time_is_refused():
    import pytest

    with pytest.raises(ValueError):
        calendar(sample(starts_at=datetime(2026, 12, 1, 9, 30)))
