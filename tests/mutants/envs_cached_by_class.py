"""Envs are cached by env class in a module-level ``functools.cache``: every wrapper
instance in the process shares one env per class.

Meta-World's env classes are module-level (``ML1("reach-v3", seed=0).train_classes["reach-v3"]
is ML1("reach-v3", seed=1).train_classes["reach-v3"]``), so two wrappers stepped side by side
(a ``SyncVectorEnv`` of two) share an env: one's ``reset`` sets its task and resets the env in
the middle of the other's trial (KMW-SR-4: every attempt of a trial runs on the same env with
the same task, reset only between attempts).
"""

import functools

from kmw import KEpisodeMetaworld


@functools.cache
def _env_of_class(cls):
    return cls()


class Wrapper(KEpisodeMetaworld):
    def _env_for(self, name):
        env = self._envs.get(name)
        if env is None:
            env = _env_of_class(self.env_funcs[name])  # bug: shared by every instance
            self._lift_limit(env)
            self._envs[name] = env
        return env


BREAKS = frozenset({"KMW-SR-4"})
