"""One-click unsubscribe (RFC 8058): a login-free POST unsubscribes, a GET never does."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from handsup.messaging.models import Kind, Unsubscribe
from handsup.messaging.tests.helpers import draft, make_group, make_person
from handsup.messaging.unsubscribe import (
    ONE_CLICK_BODY,
    SALT,
    BadUnsubscribeToken,
    list_unsubscribe_headers,
    read_unsubscribe_token,
    unsubscribe_token,
)
from handsup.privacy.consent import has_consent

pytestmark = pytest.mark.django_db


def url_for(token: str) -> str:
    return reverse("messaging:unsubscribe", args=[token])


def test_a_post_without_a_session_unsubscribes_from_the_group():
    group = make_group("Branch")
    person = make_person(groups=(group,))
    token = unsubscribe_token(person, scope="group", group=group)
    client = Client(enforce_csrf_checks=True)  # as a mail client: no cookie, no CSRF token
    response = client.post(
        url_for(token), ONE_CLICK_BODY, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert b"You have unsubscribed" in response.content
    assert Unsubscribe.objects.filter(user=person, scope="group", group=group).exists()
    assert not has_consent(person, "group_email", group=group)


def test_a_get_only_shows_the_button():
    group = make_group("Branch")
    person = make_person(groups=(group,))
    token = unsubscribe_token(person, scope="group", group=group)
    response = Client().get(url_for(token))
    assert response.status_code == 200
    assert b'method="post"' in response.content and group.name.encode() in response.content
    assert not Unsubscribe.objects.exists()
    assert has_consent(person, "group_email", group=group)
    # A link scanner's HEAD changes nothing either.
    assert Client().head(url_for(token)).status_code == 200
    assert not Unsubscribe.objects.exists()


@pytest.mark.parametrize(
    ("scope", "kind"), [("everything", ""), ("kind", Kind.ASK), ("kind", Kind.DIGEST)]
)
def test_every_scope_works_from_the_link(scope, kind):
    person = make_person()
    token = unsubscribe_token(person, scope=scope, kind=kind)
    assert Client().post(url_for(token)).status_code == 200
    assert Unsubscribe.objects.get(user=person).scope == scope


def test_a_tampered_token_is_refused_and_changes_nothing():
    person = make_person()
    token = unsubscribe_token(person, scope="everything")
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for method in ("get", "post"):
        response = getattr(Client(), method)(url_for(tampered))
        assert response.status_code == 400
        assert b"This unsubscribe link does not work" in response.content
        assert b"not one we sent" in response.content
    assert not Unsubscribe.objects.exists()


def test_a_token_signed_for_something_else_is_refused():
    person = make_person()
    # Same secret, another purpose's salt: must not be accepted.
    forged = signing.dumps({"u": person.public_id, "s": "everything"}, salt="another.purpose")
    assert Client().post(url_for(forged)).status_code == 400
    with pytest.raises(BadUnsubscribeToken):
        read_unsubscribe_token(forged)
    # Signed correctly but naming a kind one can't unsubscribe from.
    odd = signing.dumps({"u": person.public_id, "s": "kind", "k": "service"}, salt=SALT)
    assert Client().post(url_for(odd)).status_code == 400
    assert not Unsubscribe.objects.exists()


def test_an_expired_token_is_refused(monkeypatch):
    person = make_person()
    token = unsubscribe_token(person, scope="everything")
    with pytest.raises(BadUnsubscribeToken) as caught:
        read_unsubscribe_token(token, max_age=-1)
    assert caught.value.expired
    monkeypatch.setattr("handsup.messaging.unsubscribe.MAX_AGE_SECONDS", -1)
    response = Client().post(url_for(token))
    assert response.status_code == 400 and b"expired" in response.content
    assert not Unsubscribe.objects.exists()


def test_a_closed_account_cannot_be_unsubscribed_by_link():
    person = make_person()
    token = unsubscribe_token(person, scope="everything")
    person.is_active = False
    person.save()
    assert Client().post(url_for(token)).status_code == 400


def test_the_headers_name_a_one_click_link():
    group = make_group("Headers")
    person = make_person(groups=(group,))
    headers = list_unsubscribe_headers(person, draft(Kind.GROUP_UPDATE, group))
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("http") and "/unsubscribe/" in url
    token = url.rsplit("/unsubscribe/", 1)[1].rstrip("/")
    wanted = read_unsubscribe_token(token)
    assert (wanted.user, wanted.scope, wanted.group) == (person, "group", group)
    assert list_unsubscribe_headers(person, draft(Kind.SERVICE)) == {}
