"""`pip install .` gives a pmbot that works from any folder, and the image's lock file covers what pyproject asks for."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, clean_env, warm_cache_copy


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pmbot's wheel installed in a folder of its own, as `pip install .` installs it."""
    wheels, target = tmp_path_factory.mktemp("wheels"), tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True, capture_output=True, timeout=600)
    wheel = next(wheels.glob("pmbot-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True, capture_output=True,
                   timeout=600)
    return target


def test_an_installed_wheel_answers_from_another_folder_with_its_bundled_knowledge(installed: Path, tmp_path: Path) -> None:
    target, elsewhere = installed, tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env(PYTHONPATH=str(target))  # the wheel's copy of bot, not the checkout; dependencies from this venv
    script = target / "bin" / "pmbot"  # the entry point, as `pip install .` puts it on PATH
    done = subprocess.run([str(script), "ask", "what is a product manager", "--json"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "answer"
    where = subprocess.run([sys.executable, "-c", "import bot.config as c; print(c.BUNDLED_KNOWLEDGE)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60).stdout.strip()
    assert Path(where) == target / "bot" / "bundled_knowledge"
    assert {p.name for p in Path(where).glob("*.yaml")} == {p.name for p in (ROOT / "knowledge").glob("*.yaml")}
    assert (target / "bot" / "knowledge" / "released.json").is_file(), "what `pmbot run` may update in a copy"


def test_the_image_cache_warmed_on_the_bundled_knowledge_serves_the_copy_a_container_reads(
    installed: Path, tmp_path: Path
) -> None:
    """The Dockerfile's steps: `pmbot warm-cache` on the installed package's bundled knowledge while the image is
    built, then a container's start on its copy in /app/knowledge, reading that cache read-only: it builds nothing."""
    image_cache, app_knowledge, own = warm_cache_copy(), tmp_path / "app" / "knowledge", tmp_path / "data" / "cache"
    script = installed / "bin" / "pmbot"
    built = subprocess.run([str(script), "warm-cache"], env=clean_env(PYTHONPATH=str(installed), PMBOT_CACHE_DIR=str(image_cache)),
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    shutil.copytree(installed / "bot" / "bundled_knowledge", app_knowledge)  # the image's `cp -rL`
    env = clean_env(PYTHONPATH=str(installed), PMBOT_KNOWLEDGE=str(app_knowledge), PMBOT_CACHE_DIR=str(own),
                    PMBOT_READONLY_CACHE_DIR=str(image_cache))
    done = subprocess.run([str(script), "ask", "what is a product manager", "--json"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "answer"
    assert not own.exists() or not [f for f in own.rglob("*") if f.is_file()], "the start built what the image holds"


def _project(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def test_the_lock_file_pins_every_runtime_and_build_dependency_with_hashes() -> None:
    """The image installs from the lock alone: its build of pmbot must not fetch an unpinned setuptools either."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {_project(d) for d in (*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"])}
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {_project(line) for line in lock.splitlines() if "==" in line and not line.startswith((" ", "#"))}
    assert wanted - pinned == set(), "run `make lock` after changing pyproject.toml's dependencies"
    requirements = [block for block in re.split(r"\n(?=[a-z0-9])", lock) if "==" in block]
    assert requirements and all("--hash=sha256:" in block for block in requirements)


def test_the_console_cli_and_eval_run_without_discord() -> None:
    """The core (knowledge, matching, replies, and what a help channel hears) imports no Discord code, so the
    offline console, the command line and `eval` share it with the bot and start without discord.py's import."""
    modules = ["bot.cli", "bot.console", "bot.evaluation", "bot.help_channels", "bot.service", "bot.replies"]
    code = f"import sys; import {', '.join(modules)}; print(sorted(m for m in sys.modules if m.split('.')[0] == 'discord'))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
