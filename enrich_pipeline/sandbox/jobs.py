"""Async job timing: a job's phase is a pure function of the clock, so no background task is needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from enrich_pipeline.sandbox.clock import now

Phase = Literal["queued", "processing", "done", "failed"]
Fate = Literal["ok", "stuck", "fail"]


@dataclass(frozen=True, slots=True)
class JobTimer:
    created: float
    queued_s: float  # already scaled by the speed factor
    processing_s: float
    fate: Fate = "ok"  # "stuck": processing forever; "fail": ends failed

    @classmethod
    def start(cls, queued_s: float, processing_s: float, fate: Fate = "ok") -> JobTimer:
        return cls(now(), queued_s, processing_s, fate)

    @property
    def finishes_at(self) -> float:
        return self.created + self.queued_s + self.processing_s

    def seconds_until_done(self) -> float:
        return max(self.finishes_at - now(), 0.0)

    def phase(self) -> Phase:
        elapsed = now() - self.created
        if elapsed < self.queued_s:
            return "queued"
        if self.fate == "stuck" or elapsed < self.queued_s + self.processing_s:
            return "processing"
        return "failed" if self.fate == "fail" else "done"

    def progress(self) -> float:
        """0-100 (fractional), as the providers report it."""
        phase = self.phase()
        if phase in ("done", "failed"):
            return 100.0
        if phase == "queued" or self.processing_s <= 0:
            return 0.0
        done = (now() - self.created - self.queued_s) / self.processing_s
        cap = 95.0 if self.fate == "stuck" else 99.0
        return round(min(done * 100, cap), 1)

    def processed(self, total: int) -> int:
        """Items processed so far out of `total`, consistent with progress()."""
        if self.phase() in ("done", "failed"):
            return total
        return min(total, int(total * self.progress() / 100))
