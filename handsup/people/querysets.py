from __future__ import annotations

from typing import Any

from django.db import models

from handsup.places.geo import Point, bounding_box


class PersonQuerySet(models.QuerySet[Any]):
    def seeded(self) -> PersonQuerySet:
        return self.filter(seeded=True)

    def located(self) -> PersonQuerySet:
        return self.filter(eastings__isnull=False, northings__isnull=False)

    def in_box_around(self, centre: Point, km: float) -> PersonQuerySet:
        """People inside the square of side 2·`km` around `centre`: an indexed range
        filter that callers refine with `distance_km` (the corners are up to √2·km away)."""
        min_e, max_e, min_n, max_n = bounding_box(centre, km)
        return self.filter(eastings__range=(min_e, max_e), northings__range=(min_n, max_n))
