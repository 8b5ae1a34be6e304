"""An installation that cannot build Meta-World's envs is said in one line naming what to
install, never blamed on a wrapper: by kmw (``kmw.support.MetaworldUnusable``), by ``kmw run``
(exit 2) and by the plugin with ``--kmw-backend=metaworld`` (a usage error, exit 4, before any
test), whether the task cache is empty or warm.

gymnasium 1.1.0 is simulated the way it breaks: its ``MujocoEnv.__init__`` asserts a render mode
Meta-World 3's envs do not declare (``OLD_MUJOCO_INIT``, that release's check, compiled as
gymnasium's module so that the error's innermost frame is gymnasium's, as with the release), and
its version by a ``gymnasium-1.1.0.dist-info`` ahead of the real one on ``sys.path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kmw import support
from kmw.support import MetaworldUnusable, known_problem, metaworld_problem, unusable_error

REPO = Path(__file__).resolve().parents[1]

#: The check of gymnasium 1.1.0's ``MujocoEnv.__init__`` that Meta-World 3's envs fail.
OLD_MUJOCO_INIT = """
def __init__(self, *args, **kwargs):
    assert self.metadata["render_modes"] == [
        "human",
        "rgb_array",
        "depth_array",
        "rgbd_tuple",
    ], self.metadata["render_modes"]
"""
#: What kmw says with gymnasium 1.1.0 installed.
OLD_GYMNASIUM_MESSAGE = (
    "gymnasium 1.1.0 cannot build Meta-World's environments (its MujocoEnv asserts a render mode "
    "('rgbd_tuple') that Meta-World 3's envs do not declare): install gymnasium>=1.1.1, e.g. "
    "pip install 'gymnasium>=1.1.1'"
)
#: The error gymnasium 1.1.0 raises building any Meta-World 3 env.
OLD_GYMNASIUM_ERROR = "AssertionError: ['human', 'rgb_array', 'depth_array']"

#: A pytest plugin (``-p oldgym``) installing ``OLD_MUJOCO_INIT`` in a subprocess.
OLD_GYMNASIUM_PLUGIN = f"""
from gymnasium.envs.mujoco import mujoco_env

_namespace = {{"__name__": mujoco_env.__name__}}
exec(compile({OLD_MUJOCO_INIT!r}, "<gymnasium 1.1.0 mujoco_env>", "exec"), _namespace)
mujoco_env.MujocoEnv.__init__ = _namespace["__init__"]
"""


def old_mujoco_init() -> Any:
    """``OLD_MUJOCO_INIT`` as a function of gymnasium's ``mujoco_env`` module."""
    from gymnasium.envs.mujoco import mujoco_env

    namespace = {"__name__": mujoco_env.__name__}
    exec(compile(OLD_MUJOCO_INIT, "<gymnasium 1.1.0 mujoco_env>", "exec"), namespace)
    return namespace["__init__"]


def fake_gymnasium_dist(root: Path, version: str = "1.1.0") -> Path:
    """A directory holding only ``gymnasium-<version>.dist-info`` (metadata, no code)."""
    info = root / f"gymnasium-{version}.dist-info"
    info.mkdir(parents=True)
    info.joinpath("METADATA").write_text(
        f"Metadata-Version: 2.1\nName: gymnasium\nVersion: {version}\n", encoding="utf-8")
    return root


@pytest.fixture
def old_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """gymnasium 1.1.0's metadata ahead of the installed gymnasium's."""
    monkeypatch.syspath_prepend(str(fake_gymnasium_dist(tmp_path / "dists")))
    metaworld_problem.cache_clear()
    yield
    metaworld_problem.cache_clear()


@pytest.fixture
def old_mujoco_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """gymnasium 1.1.0's ``MujocoEnv.__init__`` check in place of the installed one."""
    from gymnasium.envs.mujoco import mujoco_env

    monkeypatch.setattr(mujoco_env.MujocoEnv, "__init__", old_mujoco_init())
    metaworld_problem.cache_clear()
    yield
    metaworld_problem.cache_clear()


def old_gymnasium_error() -> AssertionError:
    """The error gymnasium 1.1.0 raises building a Meta-World env (raised by its code)."""
    from metaworld.env_dict import ALL_V3_ENVIRONMENTS

    cls = ALL_V3_ENVIRONMENTS["reach-v3"]
    try:
        old_mujoco_init()(cls.__new__(cls))
    except AssertionError as exc:
        return exc
    raise AssertionError("OLD_MUJOCO_INIT accepted a Meta-World 3 env")


# -- kmw.support --------------------------------------------------------------------------


def test_release_reads_the_leading_release_numbers() -> None:
    assert support.release("1.1.0") == (1, 1, 0) < support.release("1.1.1")
    assert support.release("1.1.0rc1") == (1, 1, 0)
    assert support.release("2.13.0+cpu") == (2, 13, 0)
    assert support.release("1.1") == (1, 1) < support.release("1.1.1")


def test_the_installed_packages_have_no_known_problem() -> None:
    assert known_problem() is None
    metaworld_problem.cache_clear()
    assert metaworld_problem() is None


@pytest.mark.usefixtures("old_version")
def test_a_broken_release_is_named_with_the_release_to_install() -> None:
    assert known_problem() == OLD_GYMNASIUM_MESSAGE
    assert metaworld_problem() == OLD_GYMNASIUM_MESSAGE
    assert "\n" not in OLD_GYMNASIUM_MESSAGE


@pytest.mark.usefixtures("old_mujoco_env")
def test_an_unknown_breakage_is_found_by_building_an_env() -> None:
    """Versions not known to be broken, yet Meta-World's env cannot be built: the probe says
    so, with the error and the versions installed."""
    assert known_problem() is None
    problem = metaworld_problem()
    from importlib import metadata

    versions = ", ".join(f"{d} {metadata.version(d)}" for d in ("metaworld", "gymnasium", "mujoco"))
    assert problem == (f"Meta-World cannot build its reach-v3 environment with {versions} "
                       f"({OLD_GYMNASIUM_ERROR}): install the versions kmw supports (its README, "
                       "'Set up')")


def test_only_a_gymnasium_error_of_a_broken_release_is_turned_into_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_gymnasium = old_gymnasium_error()
    try:
        raise AssertionError("the env's own")
    except AssertionError as exc:
        elsewhere = exc
    assert unusable_error(from_gymnasium) is None  # the installed gymnasium works
    monkeypatch.syspath_prepend(str(fake_gymnasium_dist(tmp_path)))
    unusable = unusable_error(from_gymnasium)
    assert isinstance(unusable, MetaworldUnusable) and str(unusable) == OLD_GYMNASIUM_MESSAGE
    assert unusable_error(elsewhere) is None


# -- kmw ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("old_version", "old_mujoco_env")
def test_kmw_says_it_on_an_empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kmw

    monkeypatch.setenv("KMW_CACHE_DIR", str(tmp_path / "empty-cache"))
    with pytest.raises(MetaworldUnusable) as caught:
        kmw.Metaworld("reach-v3", "train", k_episodes=1)
    assert str(caught.value) == OLD_GYMNASIUM_MESSAGE
    assert isinstance(caught.value.__cause__, AssertionError)  # gymnasium's error, kept


def test_kmw_says_it_on_a_warm_cache(ml1_reach: Any, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch, old_mujoco_env: None) -> None:
    """The benchmark is there (from the cache, or built earlier); building its first env fails."""
    import kmw

    with pytest.raises(AssertionError):  # a healthy gymnasium version: the env's error as is
        kmw.KEpisodeMetaworld(ml1_reach, "train", 1)
    monkeypatch.syspath_prepend(str(fake_gymnasium_dist(tmp_path)))
    with pytest.raises(MetaworldUnusable, match=r"^gymnasium 1\.1\.0 cannot build"):
        kmw.KEpisodeMetaworld(ml1_reach, "train", 1)


@pytest.mark.usefixtures("old_version")
def test_kmw_run_says_it_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from kmw.cli import main

    assert main(["run", "reach-v3", "--trials", "1"]) == 2
    out, err = capsys.readouterr()
    assert err == f"kmw run: error: {OLD_GYMNASIUM_MESSAGE}\n" and out == ""


# -- the plugin -----------------------------------------------------------------------------


def _plugin_run(tmp_path: Path, cache: Path, *, old_version: bool) -> subprocess.CompletedProcess:
    """``pytest --kmw-impl=kmw.KEpisodeMetaworld --kmw-backend=metaworld`` with gymnasium
    1.1.0's ``MujocoEnv`` check, and its version when ``old_version``."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "oldgym.py").write_text(OLD_GYMNASIUM_PLUGIN, encoding="utf-8")
    path = [str(tmp_path), str(REPO)]
    if old_version:
        path.insert(0, str(fake_gymnasium_dist(tmp_path / "dists")))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), KMW_CACHE_DIR=str(cache))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "oldgym", "-p", "no:cacheprovider",
         "--kmw-impl=kmw.KEpisodeMetaworld", "--kmw-backend=metaworld"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def _check_usage_error(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stderr == f"ERROR: {message}\n\n" or proc.stderr == f"ERROR: {message}\n", proc.stderr
    assert "Traceback" not in proc.stdout and "kmw conformance of" not in proc.stdout, proc.stdout


def test_the_plugin_makes_it_a_usage_error_on_an_empty_and_a_warm_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 20: with an empty cache the run crashed with a traceback, with a warm one every
    requirement was blamed on the candidate."""
    empty = tmp_path / "empty-cache"
    _check_usage_error(_plugin_run(tmp_path / "a", empty, old_version=True), OLD_GYMNASIUM_MESSAGE)
    assert not empty.exists()  # stopped before building anything

    from kmw.benchmarks import make_benchmark

    warm = tmp_path / "warm-cache"
    monkeypatch.setenv("KMW_CACHE_DIR", str(warm))
    make_benchmark("reach-v3", seed=0)  # what the plugin's metaworld backend loads first
    assert list(warm.rglob("*.tasks"))
    _check_usage_error(_plugin_run(tmp_path / "b", warm, old_version=True), OLD_GYMNASIUM_MESSAGE)


def test_the_plugin_makes_an_unknown_breakage_a_usage_error(tmp_path: Path) -> None:
    proc = _plugin_run(tmp_path, tmp_path / "cache", old_version=False)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stderr.startswith("ERROR: Meta-World cannot build its reach-v3 environment with ")
    assert f"({OLD_GYMNASIUM_ERROR}): install the versions kmw supports" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stdout
