"""The skills taxonomy: every synonym finds its skill, ranking, and merging keeps data."""

from __future__ import annotations

import importlib

import pytest
from django.db.models import Count

from handsup.accounts.models import User
from handsup.people.models import Person, PersonSkill, Skill, SkillCategory
from handsup.people.taxonomy import do_merge_skills, search_skills
from handsup.privacy.models import AuditEntry
from tests.fixtures import Cast

pytestmark = pytest.mark.django_db

# The data migration's frozen taxonomy names the cases at collection time, before any
# database exists; each case then checks the row the migration made.
_MIGRATION = importlib.import_module("handsup.people.migrations.0003_skills_taxonomy")
SYNONYM_CASES = [
    (name, synonym)
    for _, _, skills in _MIGRATION.TAXONOMY
    for name, synonyms in skills
    for synonym in synonyms
]
SKILL_NAMES = [name for _, _, skills in _MIGRATION.TAXONOMY for name, _ in skills]
Level = PersonSkill.Level


def names(skills: list[Skill]) -> list[str]:
    return [skill.name for skill in skills]


@pytest.mark.parametrize(("name", "synonym"), SYNONYM_CASES, ids=lambda value: value)
def test_every_synonym_finds_its_skill(name: str, synonym: str) -> None:
    skill = Skill.objects.get(name=name)
    assert synonym in skill.synonym_list
    assert name in names(search_skills(synonym)), f"{synonym!r} should find {name!r}"


@pytest.mark.parametrize("name", SKILL_NAMES)
def test_every_skill_is_found_by_its_own_name(name: str) -> None:
    assert search_skills(name)[0].name == name


def test_every_synonym_in_the_database_finds_its_skill() -> None:
    # The same table read from the database, so the rows themselves are what is checked.
    missing = [
        f"{synonym!r} → {skill.name}"
        for skill in Skill.objects.all()
        for synonym in skill.synonym_list
        if skill not in search_skills(synonym)
    ]
    assert missing == []


def test_the_taxonomy_is_broad_enough() -> None:
    assert Skill.objects.count() >= 70
    assert SkillCategory.objects.count() >= 8
    assert {
        "digital",
        "creative",
        "communications",
        "organising",
        "practical",
        "professional",
        "languages",
        "care",
    } <= set(SkillCategory.objects.values_list("slug", flat=True))
    thin = [skill.name for skill in Skill.objects.all() if len(skill.synonym_list) < 2]
    assert thin == []
    empty = SkillCategory.objects.annotate(n=Count("skills")).filter(n=0)
    assert list(empty) == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("video", {"Video editing", "Filming"}),
        ("vid", {"Video editing", "Filming"}),
        ("Cymraeg", {"Welsh"}),
        ("BSL", {"British Sign Language interpreting"}),
        ("web dev", {"Web development"}),
        ("WEB DEV", {"Web development"}),
        ("driving", {"Driving (car)", "Minibus driving", "Van driving"}),
        ("romana", {"Romanian"}),
        ("jezyk", {"Polish"}),
        ("creche", {"Childcare"}),
        ("gaidhlig", {"Scottish Gaelic"}),
    ],
)
def test_what_people_type_finds_the_skills_they_mean(typed: str, expected: set[str]) -> None:
    assert expected <= set(names(search_skills(typed)))


def test_ranking_is_name_prefix_then_name_contains_then_synonyms() -> None:
    found = names(search_skills("driving"))
    # "Driving (car)" starts with it; the other two contain it; none needs a synonym.
    assert found[:3] == ["Driving (car)", "Minibus driving", "Van driving"]
    found = names(search_skills("video"))
    assert found.index("Video editing") < found.index("Filming")
    assert found[0] == "Video editing"
    found = names(search_skills("data"))
    # Names starting "Data", alphabetically, before "Data protection"'s synonym matches.
    assert found[:3] == ["Data analysis", "Data protection", "Databases and CRM"]


def test_alphabetical_within_a_tier() -> None:
    category = SkillCategory.objects.get(slug="digital")
    Skill.objects.create(slug="zine-making", name="Zine making", category=category)
    Skill.objects.create(slug="zine-distro", name="Zine distribution", category=category)
    assert names(search_skills("zine")) == ["Zine distribution", "Zine making"]


def test_empty_or_blank_queries_find_nothing() -> None:
    assert search_skills("") == []
    assert search_skills("   \t") == []
    assert search_skills("?!") == []
    assert search_skills("xyzzy-no-such-skill") == []


def test_limit_caps_the_results() -> None:
    assert len(search_skills("a", limit=5)) == 5
    assert search_skills("driving", limit=0) == []


def test_search_is_one_query(django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        skills = search_skills("video")
        assert [skill.category.name for skill in skills]  # categories came with them


# --- Merging -----------------------------------------------------------------------------


@pytest.fixture
def curator() -> User:
    return User.objects.create_user("taxonomy-curator@example.org")


def person_with(name: str, *held: tuple[Skill, int, bool]) -> Person:
    person = Person.objects.create(display_name=name)
    for skill, level, remote in held:
        PersonSkill.objects.create(person=person, skill=skill, level=level, remote=remote)
    return person


def held(person: Person, skill: Skill) -> tuple[int, bool]:
    row = PersonSkill.objects.get(person=person, skill=skill)
    return row.level, row.remote


def test_merging_keeps_everyones_data(curator: User) -> None:
    keep = Skill.objects.get(name="Filming")
    merge = Skill.objects.get(name="Video editing")
    only_merge = person_with("Only Merged", (merge, Level.EXPERIENCED, True))
    only_keep = person_with("Only Kept", (keep, Level.LEARNING, False))
    both_higher_merged = person_with(
        "Both, Better At Merged", (keep, Level.LEARNING, False), (merge, Level.CAN_TEACH, False)
    )
    both_higher_kept = person_with(
        "Both, Better At Kept", (keep, Level.EXPERIENCED, False), (merge, Level.CAPABLE, True)
    )
    bystander = person_with("Someone Else", (merge, Level.CAPABLE, False))
    other = Skill.objects.get(name="Photography")
    PersonSkill.objects.create(person=bystander, skill=other, level=Level.CAPABLE)

    people = do_merge_skills(actor=curator, keep=keep, merge=merge)

    assert people == 4
    assert held(only_merge, keep) == (Level.EXPERIENCED, True)
    assert held(only_keep, keep) == (Level.LEARNING, False)
    assert held(both_higher_merged, keep) == (Level.CAN_TEACH, False)
    assert held(both_higher_kept, keep) == (Level.EXPERIENCED, True)
    assert held(bystander, keep) == (Level.CAPABLE, False)
    assert held(bystander, other) == (Level.CAPABLE, False)
    assert PersonSkill.objects.filter(skill=keep).count() == 5
    assert not Skill.objects.filter(name="Video editing").exists()

    keep.refresh_from_db()
    assert "Video editing" in keep.synonym_list
    assert {"Premiere", "DaVinci Resolve", "video"} <= set(keep.synonym_list)
    assert len(keep.synonym_list) == len({s.casefold() for s in keep.synonym_list})
    assert "Filming" in names(search_skills("video editing"))

    entry = AuditEntry.objects.get(action="people.skills_merged")
    assert entry.actor == curator
    assert entry.object_public_id == str(keep.pk)
    assert entry.details == {"kept": "filming", "merged": "video-editing", "people": 4}


def test_merging_a_skill_nobody_holds(curator: User) -> None:
    keep = Skill.objects.get(name="Welsh")
    merge = Skill.objects.get(name="Scottish Gaelic")
    assert do_merge_skills(actor=curator, keep=keep, merge=merge) == 0
    assert names(search_skills("Gàidhlig")) == ["Welsh"]


def test_a_skill_is_not_merged_into_itself(curator: User) -> None:
    skill = Skill.objects.get(name="Welsh")
    with pytest.raises(ValueError):
        do_merge_skills(actor=curator, keep=skill, merge=skill)
    assert Skill.objects.filter(pk=skill.pk).exists()


# --- The admin -----------------------------------------------------------------------------


def test_platform_admin_merges_through_the_admin(cast: Cast) -> None:
    client = cast.client_for("platform_admin")
    keep = Skill.objects.get(name="Filming")
    merge = Skill.objects.get(name="Video editing")
    person = person_with("Editor", (merge, Level.CAPABLE, True))
    chosen = {"action": "merge_skills", "_selected_action": [keep.pk, merge.pk]}

    page = client.post("/admin/people/skill/", chosen)
    assert page.status_code == 200
    assert b"Which skill should stay?" in page.content
    assert Skill.objects.filter(pk=merge.pk).exists()

    done = client.post("/admin/people/skill/", {**chosen, "confirm": "yes", "keep": keep.pk})
    assert done.status_code == 302
    assert not Skill.objects.filter(pk=merge.pk).exists()
    assert held(person, keep) == (Level.CAPABLE, True)


def test_the_admin_shows_no_personal_models() -> None:
    from django.contrib import admin

    registered = {model._meta.label for model in admin.site._registry}
    assert {"people.Skill", "people.SkillCategory"} <= registered
    personal = {"people.Person", "people.Profile", "people.PersonSkill"}
    assert registered.isdisjoint(personal | {"people.DateAway", "people.ClaimCode"})
