"""Post a need with a Hands Up API token, publish it, and print its shortlist.

Uses only the standard library. Give the site's address and a token (scopes needs:read
and needs:write) as arguments or in the environment:

    python docs/api_example.py https://handsup.example.org hu_…
    HANDSUP_API_URL=https://handsup.example.org HANDSUP_API_TOKEN=hu_… python docs/api_example.py
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import date, timedelta
from typing import Any


def call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    # main() accepts only http(s) addresses.
    request = urllib.request.Request(  # noqa: S310
        f"{base.rstrip('/')}/api/v1{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.load(response)
    except urllib.error.HTTPError as error:
        # Every error has {"detail": "..."}; a 422 also has "errors": {field: problem}.
        problem = json.load(error)
        sys.exit(
            f"{method} {path} → {error.code}: {problem['detail']} {problem.get('errors') or ''}"
        )


def main(base: str, token: str) -> None:
    skill = call(base, token, "GET", "/skills")["items"][0]
    need = call(
        base,
        token,
        "POST",
        "/needs",
        {
            "title": "Phone bank callers",
            "description": "Call members about the summer fair.",
            "skills": [{"skill": skill["id"], "min_level": 2, "required": True}],
            "location_kind": "remote",
            "schedule_kind": "ongoing",
            "weekly_slots": 0b111,  # Monday morning, afternoon and evening
            "hours": 2.5,
            "people_needed": 3,
            "closes_on": (date.today() + timedelta(days=30)).isoformat(),
        },
    )
    print(f"Posted need {need['id']} ({need['status']}), asking for {skill['name']}")
    need = call(base, token, "POST", f"/needs/{need['id']}/publish")
    print(f"Published: status {need['status']}")
    shortlist = call(base, token, "GET", f"/needs/{need['id']}/shortlist")
    print(f"Shortlist: {len(shortlist['cards'])} people")
    for card in shortlist["cards"]:
        print(f"- {card['pseudonym']}: {card['reason']} (card {card['id']})")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    base_url = arguments[0] if arguments else os.environ.get("HANDSUP_API_URL", "")
    secret = arguments[1] if len(arguments) > 1 else os.environ.get("HANDSUP_API_TOKEN", "")
    if not base_url.startswith(("http://", "https://")) or not secret:
        sys.exit(__doc__)
    main(base_url, secret)
