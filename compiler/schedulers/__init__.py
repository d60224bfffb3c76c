"""The schedulers, in one explicit registry keyed by the spec's `scheduler:` values. A new scheduler is
one subpackage behind base.Scheduler and one line here."""

from __future__ import annotations

from .base import Scheduler
from .htcondor import HTCondor
from .slurm import Slurm

SCHEDULERS: dict[str, Scheduler] = {scheduler.name: scheduler for scheduler in (HTCondor(), Slurm())}
