"""Imports flow one way: contracts <- services, contracts <- workers; the pipeline is pure."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _top_levels(package: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(REPO)): {name.split(".")[0] for name in _imported_modules(path)}
        for path in sorted((REPO / package).rglob("*.py"))
    }


def test_contracts_import_only_pydantic_and_the_standard_library() -> None:
    allowed = {"pydantic", "contracts", "__future__"} | set(sys.stdlib_module_names)
    for module, imports in _top_levels("contracts").items():
        assert imports <= allowed, f"{module} imports {imports - allowed}"


def test_the_record_layer_imports_only_contracts_redis_and_pydantic() -> None:
    allowed = {
        "pydantic",
        "pydantic_settings",
        "redis",
        "hiredis",
        "contracts",
        "records",
        "__future__",
    }
    allowed |= set(sys.stdlib_module_names)
    for module, imports in _top_levels("records").items():
        assert imports <= allowed, f"{module} imports {imports - allowed}"


def test_the_api_sends_messages_without_celery() -> None:
    for module, imports in _top_levels("services").items():
        assert not imports & {"celery", "kombu", "billiard"}, module


def test_reconciler_and_healthcheck_load_no_model_and_no_celery() -> None:
    probe = (
        "import sys, newsdesk.cli, newsdesk.readiness, workers.reconciler, records.store\n"
        "heavy = {'spacy', 'trafilatura', 'celery', 'kombu'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("package", "forbidden"), [("services", "workers"), ("workers", "services")]
)
def test_services_and_workers_never_import_each_other(package: str, forbidden: str) -> None:
    for module, imports in _top_levels(package).items():
        assert forbidden not in imports, f"{module} imports {forbidden}"
        assert "newsdesk" not in imports, f"{module} imports the command-line package"
        assert "evaluation" not in imports and "tests" not in imports, module


def test_pipeline_functions_know_nothing_of_celery_or_redis() -> None:
    transport = {"celery", "kombu", "redis", "billiard"}
    for module, imports in _top_levels("workers/pipeline").items():
        assert not imports & transport, f"{module} imports {imports & transport}"
    for path in (REPO / "workers" / "pipeline").rglob("*.py"):
        for name in _imported_modules(path):
            if name.startswith("workers."):
                assert name.startswith("workers.pipeline"), f"{path.name} imports {name}"


@pytest.mark.parametrize("package", ["contracts", "records", "services", "workers", "newsdesk"])
def test_no_relative_imports_hide_from_these_checks(package: str) -> None:
    for path in (REPO / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        relative = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0]
        assert not relative, f"{path.relative_to(REPO)} uses a relative import"


def test_boundary_check_sees_imports() -> None:
    """The checks above would be vacuous if the parser found nothing."""
    assert "services" in _top_levels("services")["services/app.py"]
    assert "celery" in _top_levels("workers")["workers/celery_app.py"]
