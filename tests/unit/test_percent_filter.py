"""Scores are shown to people as 0–100 %, whatever the ranking did to the raw value."""

from web.kit.templating import environment


def test_scores_show_between_0_and_100_percent():
    percent = environment.filters["percent"]
    assert [percent(s) for s in (1.04, 0.876, 0.0, -0.2, None)] == ["100%", "88%", "0%", "0%", ""]
