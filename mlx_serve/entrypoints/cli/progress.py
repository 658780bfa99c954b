"""Pull progress on stderr: one updating line on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import TextIO

from mlx_serve.domain.ports import PullProgress
from mlx_serve.entrypoints.cli.output import human_size
from mlx_serve.entrypoints.cli.transfer_bar import TransferMeter, render


class ProgressPrinter:
    """A ProgressCallback that prints each status once (and byte counts on a terminal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._status: str | None = None
        self._open_line = False  # a terminal line that \r will overwrite
        self._meter = TransferMeter()

    def __call__(self, event: PullProgress) -> None:
        if event.status == self._status:
            if self._tty and event.total:
                self._rewrite(self._describe(event))
            return
        self._status = event.status
        self._meter = TransferMeter()
        self.finish()
        if self._tty:
            self._rewrite(self._describe(event))
        else:
            print(self._describe(event), file=self._stream, flush=True)

    def finish(self) -> None:
        """End an open terminal line (call before printing anything else)."""
        if self._open_line:
            print(file=self._stream, flush=True)
            self._open_line = False

    def _rewrite(self, text: str) -> None:
        self._stream.write("\r\033[K" + text)
        self._stream.flush()
        self._open_line = True

    def _describe(self, event: PullProgress) -> str:
        if not event.total:
            return event.status
        if not self._tty:
            return f"{event.status} ({human_size(event.total)})"
        done = event.completed or 0
        return render(event.status, done, event.total, self._meter.update(done))
