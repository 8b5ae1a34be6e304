"""Whether the installed packages can build Meta-World's environments.

Some releases that pip accepts beside Meta-World 3 cannot build its environments: gymnasium
1.1.0's ``MujocoEnv.__init__`` asserts that an env declares the render mode ``"rgbd_tuple"``,
which no Meta-World 3 env does, so building any of them raises
``AssertionError: ['human', 'rgb_array', 'depth_array']`` (gymnasium 1.1.1 dropped the
assertion). Such an installation is the user's to fix, never a wrapper's failure:

- :func:`known_problem` names the fix from the installed versions alone (no import, no build);
- :func:`metaworld_problem` also builds one Meta-World env (about half a second, once per
  process) and says why it could not, for breakages not known here;
- :func:`unusable_error` turns an error raised while building an env into a
  :class:`MetaworldUnusable` when it comes from a known-broken release.

Each answer is one line that names what to install.
"""

from __future__ import annotations

import functools
import re
import types
from importlib import metadata

#: The env :func:`metaworld_problem` builds (the smallest ML1 benchmark's).
PROBE_ENV = "reach-v3"

#: ``(distribution, first working release, what the releases before it do)``: a release below
#: the first working one cannot build Meta-World 3's envs. ``pyproject.toml``'s lower bounds
#: exclude them (``tests/test_lowest.py``); pip can still be made to install one.
KNOWN_BROKEN: tuple[tuple[str, str, str], ...] = (
    ("gymnasium", "1.1.1",
     "its MujocoEnv asserts a render mode ('rgbd_tuple') that Meta-World 3's envs do not declare"),
)


class MetaworldUnusable(RuntimeError):
    """The installed packages cannot build Meta-World's environments; the message says, in one
    line, what to install. Not a bug in kmw or in a wrapper under test."""


def release(version: str) -> tuple[int, ...]:
    """The leading release numbers of a version string: ``"1.1.0rc1"`` -> ``(1, 1, 0)``."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])


def _installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def known_problem() -> str | None:
    """Why the installed versions cannot build Meta-World's envs (a release listed in
    :data:`KNOWN_BROKEN`), in one line naming the release to install; ``None`` otherwise."""
    for dist, first_working, why in KNOWN_BROKEN:
        have = _installed(dist)
        if have is not None and release(have) < release(first_working):
            return (f"{dist} {have} cannot build Meta-World's environments ({why}): install "
                    f"{dist}>={first_working}, e.g. pip install '{dist}>={first_working}'")
    return None


@functools.lru_cache(maxsize=1)
def metaworld_problem() -> str | None:
    """Why Meta-World's environments cannot be built here, in one line naming what to install;
    ``None`` when they can. Checks :func:`known_problem`, then builds the env
    :data:`PROBE_ENV` (and closes it); the answer is kept for the process."""
    known = known_problem()
    if known is not None:
        return known
    try:
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS

        ALL_V3_ENVIRONMENTS[PROBE_ENV]().close()
    except Exception as exc:
        versions = ", ".join(f"{d} {_installed(d)}" for d in ("metaworld", "gymnasium", "mujoco"))
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        if len(detail) > 200:
            detail = detail[:197] + "..."
        return (f"Meta-World cannot build its {PROBE_ENV} environment with {versions} "
                f"({detail}): install the versions kmw supports (its README, 'Set up')")
    return None


def unusable_error(exc: BaseException) -> MetaworldUnusable | None:
    """A :class:`MetaworldUnusable` for ``exc``, an error raised while building an env, when it
    was raised in gymnasium's ``MujocoEnv`` and :func:`known_problem` names a broken release
    installed; ``None`` otherwise (the error is then the env's own, to be raised as it is)."""
    problem = known_problem()
    if problem is None or not _raised_in(exc.__traceback__, "gymnasium.envs.mujoco"):
        return None
    return MetaworldUnusable(problem)


def _raised_in(tb: types.TracebackType | None, package: str) -> bool:
    """Whether the innermost frame of ``tb`` runs code of ``package`` (or a submodule)."""
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = str(tb.tb_frame.f_globals.get("__name__", ""))
    return module == package or module.startswith(package + ".")
