"""Quiet hours in the person's time zone, across every kind of DST change."""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handsup.messaging.pacing import in_quiet_hours, quiet_release

ZONES = (
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",  # southern hemisphere: the clocks change the other way
    "Asia/Kolkata",  # half-hour offset, no DST
    "Pacific/Chatham",  # 45-minute offset with DST
    "America/St_Johns",
    "Australia/Lord_Howe",  # a 30-minute DST change
    "UTC",
)
EXAMPLES = int(os.environ.get("HANDSUP_HYPOTHESIS_EXAMPLES", "300"))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def wall(moment: datetime, tz: str) -> time:
    return moment.astimezone(ZoneInfo(tz)).time().replace(tzinfo=None)


@pytest.mark.parametrize(
    ("moment", "tz", "quiet", "release"),
    [
        # An ordinary night in summer: 22:30 BST, out at 08:00 BST.
        ("2026-06-10 21:30", "Europe/London", (21, 8), "2026-06-11 07:00"),
        # Held over the spring change: 08:00 BST the next morning is 07:00 UTC.
        ("2026-03-28 22:00", "Europe/London", (21, 8), "2026-03-29 07:00"),
        # Over the autumn change (a 25-hour day): 08:00 GMT.
        ("2026-10-24 21:00", "Europe/London", (21, 8), "2026-10-25 08:00"),
        # Quiet until 01:30, which does not exist on 29 March: out when the clocks jump.
        ("2026-03-29 00:30", "Europe/London", ((22, 0), (1, 30)), "2026-03-29 01:00"),
        # Quiet until 01:30, which happens twice on 25 October: the first one.
        ("2026-10-24 23:00", "Europe/London", ((22, 0), (1, 30)), "2026-10-25 00:30"),
        # ... unless it is already the repeated hour: then the second one.
        ("2026-10-25 01:10", "Europe/London", ((0, 30), (1, 30)), "2026-10-25 01:30"),
        # New York skips 02:00–03:00 on 8 March: quiet until 02:30 ends at the jump.
        ("2026-03-08 05:00", "America/New_York", ((22, 0), (2, 30)), "2026-03-08 07:00"),
        # Sydney's clocks go back on 5 April 2026 (03:00 AEDT → 02:00 AEST).
        ("2026-04-04 12:00", "Australia/Sydney", (21, 8), "2026-04-04 22:00"),
        # Not quiet: nothing held.
        ("2026-06-10 11:00", "Europe/London", (21, 8), None),
    ],
)
def test_quiet_hours_end_at_local_morning(moment, tz, quiet, release):
    start, end = quiet
    start = time(*start) if isinstance(start, tuple) else time(start)
    end = time(*end) if isinstance(end, tuple) else time(end)
    expected = utc(release) if release else None
    assert quiet_release(utc(moment), tz, start, end) == expected


def test_in_quiet_hours_is_half_open():
    assert in_quiet_hours(time(21, 0), time(21, 0), time(8, 0))
    assert not in_quiet_hours(time(8, 0), time(21, 0), time(8, 0))
    assert in_quiet_hours(time(0, 0), time(21, 0), time(8, 0))
    assert not in_quiet_hours(time(12, 0), time(21, 0), time(8, 0))
    assert in_quiet_hours(time(13, 0), time(13, 0), time(15, 0))
    assert not in_quiet_hours(time(15, 0), time(13, 0), time(15, 0))


times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
# Moments over two years, so every DST change of every zone is crossed.
moments = st.integers(0, 2 * 366 * 24 * 60).map(
    lambda minutes: utc("2026-01-01 00:00") + timedelta(minutes=minutes, seconds=17)
)


@settings(max_examples=EXAMPLES * 10, deadline=None)
@given(moment=moments, tz=st.sampled_from(ZONES), quiet_from=times, quiet_until=times)
def test_a_hold_ends_at_the_first_moment_out_of_quiet_hours(moment, tz, quiet_from, quiet_until):
    if quiet_from == quiet_until:
        return  # a profile constraint forbids it
    release = quiet_release(moment, tz, quiet_from, quiet_until)
    if release is None:
        assert not in_quiet_hours(wall(moment, tz), quiet_from, quiet_until)
        return
    assert release > moment
    assert release - moment <= timedelta(hours=25)
    assert not in_quiet_hours(wall(release, tz), quiet_from, quiet_until)
    # Quiet all the way until then: at the moment, every quarter hour after it, and
    # the second before the release.
    probe = moment
    while probe < release:
        assert in_quiet_hours(wall(probe, tz), quiet_from, quiet_until), probe
        probe += timedelta(minutes=15)
    assert in_quiet_hours(wall(release - timedelta(seconds=1), tz), quiet_from, quiet_until)
