"""The person's own privacy pages: "Your data", download my data, delete my account.

Each part keeps its routes with its views; this module only puts them under one prefix.
"""

from __future__ import annotations

from handsup.privacy.views_erasure import urlpatterns as erasure_patterns
from handsup.privacy.views_export import urlpatterns as export_patterns
from handsup.privacy.views_ledger import urlpatterns as ledger_patterns
from handsup.privacy.views_notice import urlpatterns as notice_patterns
from handsup.privacy.views_retention import keep_urlpatterns

app_name = "privacy"

urlpatterns = (
    ledger_patterns + export_patterns + erasure_patterns + notice_patterns + keep_urlpatterns
)
