"""``TrialPlan``: how a property drives a candidate (plain data, no hypothesis)."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    def action(self, i: int) -> np.ndarray:
        """The ``i``-th action of the plan (the list is cycled)."""
        return self.actions[i % len(self.actions)]
