"""GB postcodes and postcode districts with their grid references.

Both tables are reference data filled by `handsup places load` from Ordnance Survey's
Code-Point Open (see `loading.py`); nothing else writes to them, and a reload replaces
them. Other tables store postcode *strings* rather than foreign keys, so a reload never
touches anyone's data.

Locations are British National Grid eastings and northings in whole metres: distances
are plain Euclidean arithmetic on them (see `geo.py`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from handsup.places.areas import display_area


class PostcodeDistrict(models.Model):
    """An outward code ("M1", "SW1A"), located at the mean of its postcodes."""

    code = models.CharField(_("postcode district"), max_length=4, primary_key=True)
    area = models.CharField(_("postcode area"), max_length=2, db_index=True)
    # Null only for districts none of whose postcodes has a location (PO boxes).
    eastings = models.IntegerField(_("eastings (m)"), null=True)
    northings = models.IntegerField(_("northings (m)"), null=True)
    postcode_count = models.PositiveIntegerField(_("postcodes"), default=0)

    class Meta:
        verbose_name = _("postcode district")
        verbose_name_plural = _("postcode districts")

    def __str__(self) -> str:
        return self.code

    @property
    def display_name(self) -> str:
        return display_area(self.code)


class Postcode(models.Model):
    """One GB postcode unit ("M1 1AE"), in its normalised form."""

    code = models.CharField(_("postcode"), max_length=8, primary_key=True)
    # Not indexed: lookups go by code, and an index here would add a third of the load
    # time. Listing a district's postcodes scans the table (well under a second).
    district_code = models.CharField(_("postcode district"), max_length=4)
    # Null for the few postcodes Code-Point Open gives no grid reference.
    eastings = models.IntegerField(_("eastings (m)"), null=True)
    northings = models.IntegerField(_("northings (m)"), null=True)

    class Meta:
        verbose_name = _("postcode")
        verbose_name_plural = _("postcodes")

    def __str__(self) -> str:
        return self.code

    @property
    def display_name(self) -> str:
        return display_area(self.code)
