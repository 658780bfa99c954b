"""The CLI's pull progress on a terminal: bar, bytes, speed, time left."""

from __future__ import annotations

import io

from mlx_serve.domain.ports import PullProgress
from mlx_serve.entrypoints.cli.progress import ProgressPrinter
from mlx_serve.entrypoints.cli.transfer_bar import TransferMeter, duration, render


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_meter_measures_recent_speed_and_survives_a_restart():
    clock = Clock()
    meter = TransferMeter(clock)
    assert meter.update(0) is None
    clock.now = 1.0
    assert meter.update(1_000_000) == 1_000_000
    clock.now = 2.0
    assert meter.update(3_000_000) == 1_500_000
    clock.now = 3.0
    assert meter.update(0) is None  # started over: old samples are not this transfer's


def test_render_shows_bar_bytes_speed_and_eta():
    text = render("pulling model.safetensors", 1_000_000, 4_000_000, 500_000.0)
    assert text.startswith("pulling model.safetensors [######------------------]  25% ")
    assert "(1.0 MB/4.0 MB)" in text and "500.0 KB/s" in text and text.endswith("ETA 6s")
    assert render("x", 10, 10, 5.0).endswith("100% (10 B/10 B)")
    assert "/s" not in render("x", 1, 10, None)
    assert duration(185) == "3m05s" and duration(3720) == "1h02m"


def test_printer_rewrites_one_line_per_file_on_a_terminal():
    terminal = Terminal()
    printer = ProgressPrinter(terminal)
    for done in (0, 50, 100):
        printer(PullProgress("pulling a.bin", "a.bin", "sha256:x", 100, done))
    printer(PullProgress("converting"))
    printer.finish()
    lines = terminal.getvalue().split("\n")
    assert lines[0].count("\r\033[K") == 3 and lines[0].endswith("100% (100 B/100 B)")
    assert lines[1] == "\r\033[Kconverting"


def test_printer_prints_plain_lines_off_a_terminal():
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    for done in (0, 100):
        printer(PullProgress("pulling a.bin", "a.bin", None, 100, done))
    assert stream.getvalue() == "pulling a.bin (100 B)\n"
