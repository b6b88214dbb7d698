"""Steps `handsup demo` runs after migrating and before loading demo people.

Each step is a callable taking the running command (for output); each must be cheap
when there is nothing to do, so a warm `make demo` stays under ten seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEMO_STEPS: list[Callable[[Any], None]] = []
