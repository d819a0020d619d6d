"""Kubernetes exec probe: `python -m service.probe /health/ready` exits 0 when the app answers 200.

The app listens on loopback inside the pod, where the kubelet's HTTP probes cannot reach it.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from service.settings import get_settings


def main(path: str) -> int:
    settings = get_settings()
    url = f"http://{settings.service_host}:{settings.service_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/health/ready"))
