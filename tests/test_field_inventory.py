"""The field inventory covers every stored field, and only fields that exist.

A model that gains a field fails here until its app's `inventory.py` says whether the
field is personal data (and what export and erasure do with it) or not.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from handsup.accounts.models import User
from handsup.privacy.inventory import (
    EXPORT_SECTION_TITLES,
    NOT_EXPORTED,
    FieldInventory,
    PersonalField,
    inventoried_models,
    inventory,
    model_field_names,
)


def test_every_field_of_every_model_is_in_the_inventory():
    missing = inventory.unregistered(inventoried_models())
    assert missing == [], (
        "Declare these fields in the app's inventory.py, with "
        "handsup.privacy.inventory.personal(...) or not_personal(...):\n  " + "\n  ".join(missing)
    )


def test_the_inventory_names_no_field_that_does_not_exist():
    assert inventory.stale() == []


def test_the_walk_covers_every_handsup_app_and_the_login_tables():
    labels = {model._meta.label_lower for model in inventoried_models()}
    assert {"accounts.user", "core.privatefile", "privacy.consentevent"} <= labels
    assert {"account.emailaddress", "mfa.authenticator", "sessions.session"} <= labels
    assert "auth.permission" not in labels
    # Stored fields: the primary key and foreign keys, and many-to-many fields.
    assert {"id", "groups", "public_id"} <= set(model_field_names(User))


def test_a_field_left_out_is_reported():
    partial = FieldInventory()
    names = [name for name in model_field_names(User) if name != "full_name"]
    partial.not_personal("accounts.User", *names)
    assert partial.unregistered([User]) == ["accounts.user.full_name"]


def test_a_registration_for_a_field_that_does_not_exist_is_reported():
    registry = FieldInventory()
    registry.not_personal("accounts.User", "id", "nickname")
    registry.not_personal("accounts.Nobody", "id")
    assert registry.stale() == [
        "accounts.nobody.id (no such model)",
        "accounts.user.nickname (no such field)",
    ]


def test_a_field_is_registered_once():
    registry = FieldInventory()
    registry.not_personal("accounts.User", "full_name")
    registry.not_personal("accounts.User", "full_name")  # the same again is harmless
    with pytest.raises(ImproperlyConfigured, match="twice"):
        registry.personal(
            "accounts.User", "full_name", what="name", export_section="account", erasure="delete"
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"what": "name", "export_section": "account", "erasure": "shred"}, "erasure"),
        ({"what": " ", "export_section": "account", "erasure": "delete"}, "say what"),
        ({"what": "name", "export_section": "Your account", "erasure": "delete"}, "short codes"),
        ({"what": "name", "export_section": NOT_EXPORTED, "erasure": "delete"}, "not exported"),
    ],
)
def test_a_personal_field_says_what_it_is_and_what_happens_to_it(kwargs, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        FieldInventory().personal("accounts.User", "full_name", **kwargs)


def test_the_inventory_lists_the_sections_of_download_my_data():
    sections = {section.code: section for section in inventory.export_sections()}
    assert sections["account"].title == EXPORT_SECTION_TITLES["account"]
    account = {(f.model, f.field) for f in sections["account"].fields}
    assert {("accounts.user", "email"), ("accounts.user", "full_name")} <= account
    assert ("accounts.user", "password") not in account  # a credential is not exported
    assert ("privacy.consentevent", "user") in {
        (f.model, f.field) for f in sections["consents"].fields
    }
    assert ("privacy.accesslogentry", "subject") in {
        (f.model, f.field) for f in sections["who_has_seen_me"].fields
    }
    # Known sections come in the documented order, each field in exactly one section.
    codes = [section.code for section in inventory.export_sections()]
    known = [code for code in EXPORT_SECTION_TITLES if code in codes]
    assert codes[: len(known)] == known
    exported = [f for section in sections.values() for f in section.fields]
    assert (
        len(exported)
        == len(set(exported))
        == len([f for f in inventory.personal_fields() if f.exported])
    )


def test_every_personal_field_has_an_erasure_rule():
    plan = inventory.by_erasure()
    assert sum(len(fields) for fields in plan.values()) == len(inventory.personal_fields())
    assert ("accounts.user", "email") in {(f.model, f.field) for f in plan["keep_hashed"]}
    unexplained = [
        f"{f.model}.{f.field}" for f in inventory.personal_fields() if not f.exported and not f.note
    ]
    assert unexplained == []
    assert all(isinstance(f, PersonalField) for f in inventory.personal_fields("accounts.User"))
