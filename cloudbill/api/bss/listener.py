"""Run an ASGI app with uvicorn in a background thread: the BSS listener beside the operator API
in `cloudbill serve`, and the compat tests' server. Signals stay with the main thread's server."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from ...kernel.errors import CloudbillError, ErrorCode

START_TIMEOUT_S = 15


class ThreadedServer:
    def __init__(self, app: Any, *, host: str, port: int, log_level: str = "info") -> None:
        # log_config=None: uvicorn's loggers keep cloudbill's format (observe/logs.py)
        config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, lifespan="off", log_config=None
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="bss-listener", daemon=True)
        self.host, self.port = host, port

    def start(self) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise CloudbillError(
                    ErrorCode.INVALID_STATE,
                    f"the BSS listener could not start on {self.host}:{self.port} "
                    "(port in use? set CLOUDBILL_BSS_PORT or --bss-port)",
                )
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_S)
