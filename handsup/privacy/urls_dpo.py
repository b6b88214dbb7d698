"""The data protection officer's pages: the desk of requests, retention's reports and
the record of processing. Each part keeps its routes with its views."""

from __future__ import annotations

from handsup.privacy.views_desk import urlpatterns as desk_patterns
from handsup.privacy.views_record import urlpatterns as record_patterns
from handsup.privacy.views_retention import urlpatterns as retention_patterns

app_name = "dpo"

urlpatterns = desk_patterns + retention_patterns + record_patterns
