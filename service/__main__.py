"""Runs the service: `python -m service`, on SERVICE_HOST:SERVICE_PORT (127.0.0.1:8007 by default)."""

from __future__ import annotations

import uvicorn

from service.settings import get_settings


def main() -> None:
    settings = get_settings()
    # log_config=None: the app's JSON logging (telemetry.logs) covers uvicorn's loggers too.
    uvicorn.run("service.main:create_app", factory=True, host=settings.service_host, port=settings.service_port,
                access_log=False, proxy_headers=False, log_config=None)


if __name__ == "__main__":
    main()
