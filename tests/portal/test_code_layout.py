"""The code stays readable as it grows: modules by concept, short functions.

A module past 500 lines or a function past 60 changes for more than one reason; the house
splits it by domain concept (house-style.md, "Where code lives"). Migrations are generated
and the scale seeder is a data generator read as a whole, so both are left out.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("customers", "consent", "incidents", "portal")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
LEFT_OUT = {Path("portal/management/commands/seed_scale.py")}


def project_modules() -> list[Path]:
    """Every Python module of the four apps, relative to the repository, except migrations
    and the scale seeder."""
    return sorted(
        path.relative_to(ROOT)
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.relative_to(ROOT) not in LEFT_OUT
    )


def test_the_layout_check_reads_every_app():
    modules = project_modules()
    assert {module.parts[0] for module in modules} == set(APPS)
    assert len(modules) > 50


@pytest.mark.parametrize("module", project_modules(), ids=str)
def test_no_module_is_over_500_lines(module):
    lines = len((ROOT / module).read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines: split it by concept"


def long_functions(module: Path, root: Path = ROOT) -> list[str]:
    """``"name (N lines)"`` for each function or method of ``module`` over the limit."""
    tree = ast.parse((root / module).read_text())
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_a_long_function_is_found(tmp_path):
    (tmp_path / "long.py").write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES)
    (tmp_path / "short.py").write_text("def f():\n" + "    x = 1\n" * (MAX_FUNCTION_LINES - 1))
    assert long_functions(Path("long.py"), tmp_path) == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]
    assert long_functions(Path("short.py"), tmp_path) == []


@pytest.mark.parametrize("module", project_modules(), ids=str)
def test_no_function_is_over_60_lines(module):
    assert long_functions(module) == [], f"{module}: shorten or split these"
