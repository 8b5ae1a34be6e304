"""The constructor reads the spaces from an env of the *train* split's first class with a train
task set, whatever the split: on the test split it sets a train task.

KMW-TSK-1 covers every ``set_task`` a candidate makes, construction included: the test split
sets only tasks of ``test_tasks``.
"""

from kmw import KEpisodeMetaworld


class Wrapper(KEpisodeMetaworld):
    def _probe_spaces(self):
        name, cls = next(iter(self.benchmark.train_classes.items()))
        probe = cls()  # bug: the train split's class and task, for either split
        probe.set_task(next(t for t in self.benchmark.train_tasks if t.env_name == name))
        inner = getattr(probe, "sawyer_observation_space", None) or probe.observation_space
        self._obs_dim = int(inner.shape[0])
        self.observation_space = self._make_observation_space(inner)
        self.action_space = probe.action_space


BREAKS = frozenset({"KMW-TSK-1"})
