"""``TrialPlan``: how a property drives a candidate (plain data, no hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TrialPlan:
    """A candidate's constructor arguments, the reward scales to set on it, and the trials to
    run: one per entry of ``seeds`` (``None``: ``reset()`` without a seed), stepping with
    ``actions`` in turn (the list is cycled)."""

    split: str
    k: int
    max_len: int
    seeds: list[int | None]
    actions: list[np.ndarray]
    reward_scales: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        acts = [[float(x) for x in np.asarray(a).ravel()] for a in self.actions]
        return (f"TrialPlan(split={self.split!r}, k={self.k}, max_len={self.max_len}, "
                f"seeds={self.seeds!r}, actions={acts!r}, reward_scales={self.reward_scales!r})")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis prints a drawn plan in a falsifying example: as :meth:`__repr__`
        (its own printer would show each action as the strategy call that made it)."""
        printer.text(repr(self))

    def action(self, i: int) -> np.ndarray:
        """The ``i``-th action of the plan (the list is cycled)."""
        return self.actions[i % len(self.actions)]
