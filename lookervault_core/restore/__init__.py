"""Restore backup items into Looker, one at a time or many on a thread pool."""

from .batch import BatchSummary, ItemFailure, Outcome, restore_many
from .closure import missing_requirements
from .drift import DriftReport, TypeDrift, find_drift
from .restorer import Restorer
from .result import Action, RestoreResult
from .second_pass import SecondPass

__all__ = ["Action", "BatchSummary", "DriftReport", "ItemFailure", "Outcome", "RestoreResult", "Restorer",
           "SecondPass", "TypeDrift", "find_drift", "missing_requirements", "restore_many"]
