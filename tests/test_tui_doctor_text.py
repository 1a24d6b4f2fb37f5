"""The doctor's page (``d``) with hostile text: every name, ARN, policy detail and STS
message of a report is drawn literally (markup inert, control characters escaped,
nothing lost), generated and on the page itself; a failure to check is said there.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from profiles.doors.terminal import shown
from profiles.errors import AwsError
from profiles.trust.checks import Check
from profiles.trust.doctor import Hop, Report
from tests.test_tui_doctor import SMALL, app_for, fits, plain, text_of
from tests.tui_world import Clock, flat, organisation, until
from tui.screens import doctor as page_module
from tui.screens.doctor import DoctorPage

EXAMPLES = max(10, int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60")))

# -- hostile text -----------------------------------------------------------------------

HOSTILE = ["a[/]b", "[bold]x[/bold]", "team[dev]", "[link=https://x]y", "\\[b]", "$role",
           "x\x1b[2Jy", "line\nbreak", "tab\there", "\u2028sep", "界😀"]


def report_of(role: str, texts: list[str]) -> Report:
    a, b, c, d = (texts * 4)[:4]
    checks = (Check("trust", "fail", f"statement 0 ({a}) trusts nobody", f"add {b}"),
              Check("identity", "unknown", f"cannot read {c}", f"allow {d}"),
              Check("external_id", "pass", f"not required {a}"),
              Check("mfa", "pass", "fine"), Check("duration", "pass", "1h"),
              Check("org", "pass", "every one: " + " ".join(texts)))
    hop = Hop(role, f"arn:aws:iam::111111111111:role/{b}", "denied", checks,
              caller=f"arn:aws:iam::000000000000:user/{c}")
    return Report(role, "denied", (hop,))


def visible(text: str) -> str:
    return flat(shown(text, 2000))


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(HOSTILE + list("ab-_/:.[]")), min_size=1,
                         max_size=6).map("".join), min_size=1, max_size=4))
@example(HOSTILE[:4])
def test_every_string_of_a_report_is_drawn_literally(texts):
    """Summary, hop, checks and the denial note: markup stays text, control characters
    are escaped, nothing is lost (whitespace aside: long words fold)."""
    report = report_of("r" + texts[0], texts)
    tone = {"pass": "green", "fail": "red", "unknown": "yellow"}.get
    drawn = "".join(plain(part, 80) for part in (
        page_module.summary(report, lambda r: tone(r, "")),
        page_module.hop_view(report.hops[0], 1, 1, lambda r: tone(r, "")),
        page_module.denial_note(f"AssumeRole denied: {texts[-1]}", report)))
    assert "\x1b" not in drawn and "\u2028" not in drawn
    for value in texts:
        assert visible(value) in flat(drawn), value
    assert visible(f"arn:aws:iam::111111111111:role/{(texts * 4)[1]}") in flat(drawn)


async def test_hostile_names_on_the_page_itself(world):
    organisation(world)
    app = app_for(Clock())
    report = report_of("a[/]b", HOSTILE)
    async with app.run_test(size=SMALL) as pilot:
        await app.board_screen.loaded()
        page = DoctorPage("a[/]b", lambda: report, denial="User: [bold]x[/bold] \x1b[2J no")
        await app.push_screen(page)
        await until(pilot, lambda: page.report is not None)
        await pilot.pause()
        assert str(page.query_one("#page-title").render()) == "doctor · a[/]b"
        text = text_of(page)
        assert text.startswith("a[/]b: denied · FAIL: trust · unknown: identity")
        assert "User: [bold]x[/bold] \\x1b[2J no" in text and "\x1b" not in text
        for value in HOSTILE:
            assert visible(value) in flat(text), value
        fits(page)


async def test_a_failure_to_check_is_said_on_the_page(world):
    organisation(world)
    app = app_for(Clock())

    def broken() -> Report:
        raise AwsError("GetRole: IAM unreachable [/]", fix="check the network")

    async with app.run_test(size=SMALL) as pilot:
        await app.board_screen.loaded()
        page = DoctorPage("dev-deploy", broken)
        await app.push_screen(page)
        await until(pilot, lambda: page.error is not None)
        await pilot.pause()
        summary = str(page.query_one("#doctor-summary").render())
        assert summary == ("cannot check dev-deploy: GetRole: IAM unreachable [/]\n"
                           "fix: check the network")
        page.check = lambda: report_of("dev-deploy", ["x"])
        await pilot.press("r")  # check again: it works now
        await until(pilot, lambda: page.report is not None)
        assert page.error is None
