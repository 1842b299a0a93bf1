"""Binder's environment must agree with pyproject.toml: same packages, same version ranges, a torch inside range."""

import os
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    runtime = {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}
    dev = {canonicalize_name(r.name): r for r in map(Requirement, project["optional-dependencies"]["dev"])}
    return runtime, dev


def _binder():
    reqs = {}
    with open(os.path.join(ROOT, "binder", "requirements.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                r = Requirement(line)
                reqs[canonicalize_name(r.name)] = r
    return reqs


def test_binder_installs_every_runtime_dependency_within_pyprojects_range():
    runtime, _ = _pyproject()
    binder = _binder()
    for name, req in runtime.items():
        assert name in binder, f"binder/requirements.txt lacks {name}"
        pins = [s.version for s in binder[name].specifier if s.operator == "=="]
        if pins:  # a pinned version must be allowed by pyproject
            assert req.specifier.contains(pins[0], prereleases=True), f"{name}=={pins[0]} is outside {req.specifier}"
        else:
            assert binder[name].specifier == req.specifier, f"{name}: binder {binder[name].specifier} != {req.specifier}"


def test_binder_adds_nothing_but_jupyter_from_the_dev_extra():
    runtime, dev = _pyproject()
    for name, req in _binder().items():
        if name in runtime:
            continue
        assert name in dev, f"binder installs {name}, which pyproject does not declare"
        assert req.specifier == dev[name].specifier


def test_binder_uses_the_cpu_torch_and_the_tiny_profile():
    with open(os.path.join(ROOT, "binder", "requirements.txt")) as f:
        text = f.read()
    assert "download.pytorch.org/whl/cpu" in text and "torch==" in text
    with open(os.path.join(ROOT, "binder", "postBuild")) as f:
        assert "pip install --no-deps -e ." in f.read()
    with open(os.path.join(ROOT, "binder", "start")) as f:
        assert "RLCORE_PROFILE=tiny" in f.read()
    assert os.access(os.path.join(ROOT, "binder", "postBuild"), os.X_OK)
    assert os.access(os.path.join(ROOT, "binder", "start"), os.X_OK)
