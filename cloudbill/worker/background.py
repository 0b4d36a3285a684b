"""The worker as a thread inside `cloudbill serve`, so one process bills on its own (the
default of `make run`). Larger installations run `cloudbill worker run` processes instead;
both are safe together, since every job is keyed by its period."""

from __future__ import annotations

import threading

from ..bootstrap import Container
from ..observe import logs, metrics
from .jobs import run_due

log = logs.get("cloudbill.worker")


class BackgroundWorker:
    def __init__(self, container: Container, interval_s: float) -> None:
        self._container = container
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cloudbill-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                run_due(self._container)  # it logs what each job did
            except Exception:
                metrics.WORKER_PASSES.labels("failed").inc()
                log.exception("worker pass failed; trying again at the next look")
            self._stop.wait(self._interval_s)
