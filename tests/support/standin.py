"""Serves a stand-in app on 127.0.0.1:$APP_PORT (the port the dapr CLI, and devstack like it, give
each app): `python -m tests.support.standin tests.support.order_service:app`."""

from __future__ import annotations

import os
import sys

import uvicorn

if __name__ == "__main__":
    uvicorn.run(sys.argv[1], host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="warning")
