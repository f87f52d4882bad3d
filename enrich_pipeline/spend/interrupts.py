"""Ctrl-C and SIGTERM never cut a paid submit off from its record.

Between sending a submit and recording the provider's answer, an interrupt would leave a submit the
provider may have accepted with no record of its job: the next run could only call it unknown. Inside
`finish_recording()` the two signals are held and delivered once the block has recorded what it
sent; the run then stops as usual (one press). Signal handlers can only be changed from the main
thread, so elsewhere the block runs unguarded — a step running in another thread is stopped by its
own runner.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def finish_recording() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def hold(signo: int, _frame: FrameType | None) -> None:
        received.append(signo)
        if len(received) > 1:  # a second press forces it; the next run reconciles this submit
            raise KeyboardInterrupt
        os.write(2, b"\ninterrupted: recording the submit in flight, then stopping ...\n")

    previous: dict[int, Any] = {}
    for signo in HELD:
        previous[signo] = signal.getsignal(signo)
        signal.signal(signo, hold)
    try:
        yield
    finally:
        for signo, handler in previous.items():
            signal.signal(signo, handler)
        if received:
            signo = received[0]
            handler = previous[signo]
            if callable(handler):
                handler(signo, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signo)
            # SIG_IGN: the signal was meant to be ignored
