"""The package as an operator installs it: a built wheel in a fresh virtual environment,
run from a directory outside the source tree, finds its catalogs, FAQ and data files."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

# One worker builds the wheel and its environment once for the whole module.
pytestmark = [pytest.mark.install, pytest.mark.xdist_group("install")]

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from; the rest of the repository is not part of the package.
SOURCES = ("pyproject.toml", "README.md", "bot")


def run(
    args: list[str | Path], cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment with only the wheel installed in it; the dependencies are the
    environment's running the tests (no download), and must satisfy the wheel's."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    wheels = work / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source], work)
    (wheel,) = wheels.glob("qorgau-*.whl")
    env = work / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", env], work)
    python = env / "bin" / "python"
    # The running environment's packages come after the venv's own: a path per line, so its
    # .pth files (the source tree's editable install among them) are not run.
    own = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work)
    outer = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"]])
    (Path(own.strip()) / "outer.pth").write_text("".join(f"{p}\n" for p in outer))
    # That environment's pip installs into the venv; --no-index: every dependency must
    # already be there.
    run([python, "-m", "pip", "install", "-q", "--no-index", wheel], work)
    yield env


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory with no source tree in it or above it."""
    assert ROOT not in tmp_path.parents
    return tmp_path


def test_installed_package_is_the_wheel(venv: Path, outside: Path) -> None:
    python = venv / "bin" / "python"
    where = run([python, "-c", "import bot; print(bot.__file__)"], outside).strip()
    assert Path(where).is_relative_to(venv), where


def test_help_runs_outside_the_source_tree(venv: Path, outside: Path) -> None:
    out = run([venv / "bin" / "python", "-m", "bot", "--help"], outside)
    assert "db" in out and "faq" in out


def test_catalogs_are_installed(venv: Path, outside: Path) -> None:
    lookup = (
        "from bot import compat\n"
        "compat.start()\n"
        "from bot.i18n import create_i18n\n"
        "i18n = create_i18n()\n"
        "print(i18n.gettext('Status', locale='kk'))\n"
        "print(i18n.gettext('Status', locale='ru'))\n"
    )
    out = run([venv / "bin" / "python", "-c", lookup], outside)
    assert out.splitlines() == ["Күйі", "Статус"]


def test_shipped_faq_passes_its_check(venv: Path, outside: Path) -> None:
    out = run([venv / "bin" / "python", "-m", "bot", "faq", "check"], outside)
    assert out.startswith("ok: ")


def test_console_script_is_the_same_command_line(venv: Path, outside: Path) -> None:
    qorgau = venv / "bin" / "qorgau"
    assert run([qorgau, "--help"], outside) == run(
        [venv / "bin" / "python", "-m", "bot", "--help"], outside
    )
    assert run([qorgau, "faq", "check"], outside).startswith("ok: ")
    out = run([qorgau, "db", "upgrade"], outside, env={"DATABASE_URL": "sqlite:///qorgau.db"})
    assert "up to date" in out and (outside / "qorgau.db").is_file()


def pins(lock: str) -> dict[str, Version]:
    found = re.findall(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)", (ROOT / lock).read_text(), re.M)
    return {canonicalize_name(name): Version(version) for name, version in found}


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", []), ("requirements-test.lock", ["test"])]
)
def test_lock_files_pin_every_dependency_within_its_bounds(lock: str, extras: list[str]) -> None:
    """Run scripts/lock.sh after changing the dependencies in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pinned = pins(lock)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} lacks {name}"
        assert pinned[name] in requirement.specifier, (lock, name, pinned[name])
    if extras:  # the tests run on the versions the bot runs on
        runtime = pins("requirements.lock")
        assert {n: v for n, v in pinned.items() if n in runtime} == runtime
