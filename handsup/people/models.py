"""One row per volunteer: who they are and roughly where.

A person may have no account (someone an organiser added from a paper sign-up sheet);
with an account, the account's email is the one we use and `email` stays empty, so the
two can never disagree. Location is kept as the normalised postcode, its district, and
its grid reference in metres (see `handsup.places`).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from handsup.core.ids import PublicIdModel
from handsup.people.querysets import PersonQuerySet
from handsup.places.areas import display_area
from handsup.places.geo import Point


class Person(PublicIdModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="person",
    )
    display_name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(
        _("email address"),
        blank=True,
        help_text=_("Only for people without an account; otherwise the account's address."),
    )
    # Normalised ("M1 1AE"); empty when we only know the district, or nothing.
    postcode = models.CharField(_("postcode"), max_length=8, blank=True)
    district = models.CharField(_("postcode district"), max_length=4, blank=True)
    eastings = models.IntegerField(_("eastings (m)"), null=True, blank=True)
    northings = models.IntegerField(_("northings (m)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # Made by `handsup seed`, and removed by `handsup seed --reset`.
    seeded = models.BooleanField(default=False, editable=False)

    objects: ClassVar[PersonQuerySet] = PersonQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [
            # Matching's "who is near here" range filter on both coordinates.
            models.Index(fields=["eastings", "northings"], name="person_location_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(email=""),
                name="person_email_only_without_account",
            ),
            models.CheckConstraint(
                condition=Q(eastings__isnull=True, northings__isnull=True)
                | Q(eastings__isnull=False, northings__isnull=False),
                name="person_location_complete_or_absent",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def point(self) -> Point | None:
        if self.eastings is None or self.northings is None:
            return None
        return Point(self.eastings, self.northings)

    @property
    def area_name(self) -> str:
        """Roughly where this person is, never finer than the district."""
        return display_area(self.district) if self.district else ""
