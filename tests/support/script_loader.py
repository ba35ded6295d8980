"""Imports a file of scripts/ as a module, so tests call its functions and ``main`` directly."""

import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str):
    """``scripts/<name>.py`` (e.g. ``"train"``, ``"experiments/benchmark"``) as the module
    ``<stem>_script`` (registered in ``sys.modules``, where its dataclasses look it up)."""
    path = SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{path.stem}_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
