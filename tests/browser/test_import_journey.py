"""Importing a list in a real browser: upload, fix a column, dry run with the progress bar
polling until the worker finishes, import, and the rejected rows to download."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, expect

from handsup.accounts.models import User
from handsup.groups.models import Membership
from handsup.imports.actions import do_run_import
from handsup.imports.models import ImportJob
from tests.browser.journey import Journey
from tests.browser.test_offline_journey import log_in_as_organiser_a
from tests.fixtures import Cast

pytestmark = pytest.mark.browser

LIST = (
    "Email,Volunteer,Where,Notes\n"
    'ann@example.org,Ann Example,,=HYPERLINK("http://evil")\n'
    "bob@example.org,Bob Example,,\n"
    "not-an-email,Carol Example,,\n"
)


def run_as_the_worker() -> None:
    job = ImportJob.objects.get(status=ImportJob.Status.QUEUED)
    do_run_import(job=job)


def test_an_organiser_imports_their_list(cast: Cast, journey: Journey) -> None:
    group = cast.groups["group_a"]
    log_in_as_organiser_a(cast, journey)
    journey.visit(f"/groups/manage/{group.public_id}/")
    journey.click("Import your group's list of volunteers (CSV)")
    journey.page.get_by_label("Your list, as a CSV file").set_input_files(
        files=FilePayload(name="list.csv", mimeType="text/csv", buffer=LIST.encode())
    )
    journey.submit("Upload and preview")
    expect(
        journey.page.get_by_role("table", name="The first rows, as we read them")
    ).to_contain_text("Carol Example")
    # "Where" means nothing to us: the organiser says it is the postcode.
    journey.page.get_by_label("Where").select_option("postcode")
    journey.submit("Save the columns")
    expect(journey.page.get_by_label("Where")).to_have_value("postcode")

    journey.submit("Dry run: check every row, change nothing")
    expect(journey.page.locator("#import-progress progress")).to_be_visible()
    run_as_the_worker()
    # htmx polls the progress bar; when the run is over the page reloads by itself.
    expect(journey.page.get_by_role("heading", name="What the import would do")).to_be_visible(
        timeout=10_000
    )
    journey.check()
    assert not User.objects.filter(email="ann@example.org").exists()
    expect(journey.page.locator("main")).to_contain_text("not-an-email")

    journey.page.get_by_label("They agreed on paper (a sign-up sheet or form)").check()
    journey.submit("Import 2 people")
    run_as_the_worker()
    expect(journey.page.get_by_role("heading", name="What the import did")).to_be_visible(
        timeout=10_000
    )
    journey.check()
    ann = User.objects.get(email="ann@example.org")
    assert Membership.objects.filter(user=ann, group=group).exists()

    with journey.page.expect_download() as download:
        journey.page.get_by_role("link", name="Download the rows left out").click()
    report = download.value.path().read_text()
    assert "not-an-email" in report
    journey.assert_all_checked()
