"""The layer rule of DESIGN.md is enforced by import-linter, not hoped for."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["config", "halls", "booking", "checkout", "boxoffice", "api"]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_project(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_project_keeps_its_layers():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_booking_importing_checkout_breaks_the_build(tmp_path):
    project = _copy_project(tmp_path)
    with (project / "booking" / "selectors.py").open("a") as module:
        module.write("\nfrom checkout.models import Payment  # noqa: E402, F401 - the deliberate violation\n")
    result = _lint(project)
    assert result.returncode == 1, result.stdout
    assert "Layers: api | boxoffice > checkout > booking > halls BROKEN" in result.stdout
    assert "booking.selectors -> checkout.models" in result.stdout


def test_config_importing_an_app_breaks_the_build(tmp_path):
    project = _copy_project(tmp_path)
    with (project / "config" / "urls.py").open("a") as module:
        module.write("\nimport booking.views  # noqa: E402, F401 - the deliberate violation\n")
    result = _lint(project)
    assert result.returncode == 1, result.stdout
    assert "config imports no app (only Django wires them in) BROKEN" in result.stdout
