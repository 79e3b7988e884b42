"""The documentation lists every rule cit can report, with the severity the code gives it:
the rule tables are in docs/data-flow.md, the data-quality checks in docs/script-tests.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.data.compatibility import RULES
from orchestrator.dataflow.contract_check import CONTRACT_RULES
from orchestrator.dataflow.edges import EDGE_RULES

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULE_TABLES = (DOCS / "data-flow.md").read_text(encoding="utf-8")
CHECK_TABLE = (DOCS / "script-tests.md").read_text(encoding="utf-8")

DOCUMENTED = [
    (str(rule), info.severity.value, info.meaning)
    for rule, info in [*RULES.items(), *CONTRACT_RULES.items(), *EDGE_RULES.items()]
]


@pytest.mark.parametrize(("rule", "severity", "meaning"), DOCUMENTED)
def test_every_rule_is_in_a_docs_table_as_the_code_has_it(
    rule: str, severity: str, meaning: str
) -> None:
    assert f"| `{rule}` | {severity} | {meaning} |" in RULE_TABLES


def test_every_quality_check_is_in_the_docs_table_as_the_code_has_it() -> None:
    from orchestrator.data.quality_checks import CHECKS

    for name, check in CHECKS.items():
        assert f"| `{name}` |" in CHECK_TABLE and check.summary in CHECK_TABLE, name
