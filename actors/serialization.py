"""JSON for actor messages and state, without the SDK's guessing decoder.

The SDK's default decoder turns every string that starts like a date into a datetime and every
duration-like string into a timedelta (a street named "2024-01-01 Road" would not survive), and it
scans in pure Python. Encoding stays the SDK's: it knows reminders' timedeltas and bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dapr.serializers import DefaultJSONSerializer


class PlainJSONSerializer(DefaultJSONSerializer):
    def deserialize(self, data: bytes, data_type: type | None = object,
                    custom_hook: Callable[[bytes], object] | None = None) -> Any:
        obj = json.loads(data) if data else None
        # As in the SDK, a hook receives the decoded object.
        return custom_hook(obj) if callable(custom_hook) else obj  # type: ignore[arg-type]
