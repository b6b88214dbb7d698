"""Who may read a private file: its owner, and admins of the group it belongs to.

A "download my data" zip is not served here at all: its own page
(`privacy:export_download`) serves it, and only until it expires.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from handsup.core.models import PrivateFile
from handsup.groups.permissions import group_policy


class PrivateFilePolicy:
    def files_for(self, user: Any) -> QuerySet[PrivateFile]:
        if not getattr(user, "is_authenticated", False):
            return PrivateFile.objects.none()
        from handsup.privacy.models import DataExport

        administered = group_policy.groups_for(user, "administer")
        exports = DataExport.objects.filter(file__isnull=False).values("file_id")
        return PrivateFile.objects.filter(Q(owner=user) | Q(group__in=administered)).exclude(
            pk__in=exports
        )

    def allows(self, user: Any, stored: PrivateFile) -> bool:
        return self.files_for(user).filter(pk=stored.pk).exists()


private_file_policy = PrivateFilePolicy()


def access_private_file(user: Any, public_id: str) -> PrivateFile:
    stored = private_file_policy.files_for(user).filter(public_id=public_id).first()
    if stored is None:
        raise Http404("No such file.")
    return stored
