"""JUnit XML of a report, as CI systems and GitHub Actions report actions read it.

A ``<testsuite>`` per suite (a pipeline run or a script's test cases), a ``<testcase>`` per
step, edge, test case and checked S3 input, with ``classname`` the step it belongs to and
``time`` on every one. A failed item has ``<failure message type>`` with its issues one per
line; an error or an interrupted one ``<error>``; a skipped one ``<skipped>``. The container's
log tail is the testcase's ``<system-out>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..verdict import outcome_word
from .model import Outcome, Report, Suite, TestItem

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
"""Terminal colour and cursor sequences: noise in a CI report."""
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold (a log may have any byte)."""


def render_junit(report: Report) -> str:
    """The JUnit XML document of ``report``."""
    root = ET.Element("testsuites", name=f"cit {report.cit_report}")
    _counts(root, report.tests, report.duration_seconds)
    for suite in report.suites:
        root.append(_suite(suite, report.created_at))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(suite: Suite, timestamp: str) -> ET.Element:
    element = ET.Element("testsuite", name=suite.name, timestamp=timestamp)
    _counts(element, suite.tests, suite.duration_seconds)
    if suite.file:
        element.set("file", suite.file)
    properties = ET.SubElement(element, "properties")
    for name, value in (
        ("kind", suite.kind),
        ("run_dir", suite.run_dir),
        ("outcome", suite.outcome),
    ):
        if value:
            ET.SubElement(properties, "property", name=name, value=str(value))
    for test in suite.tests:
        element.append(_testcase(test))
    return element


def _counts(element: ET.Element, tests: list[TestItem], seconds: float) -> None:
    outcomes = [t.outcome for t in tests]
    element.set("tests", str(len(tests)))
    element.set("failures", str(outcomes.count(Outcome.FAILED)))
    element.set("errors", str(outcomes.count(Outcome.ERROR) + outcomes.count(Outcome.INTERRUPTED)))
    element.set("skipped", str(outcomes.count(Outcome.SKIPPED)))
    element.set("time", _seconds(seconds))


def _testcase(test: TestItem) -> ET.Element:
    element = ET.Element(
        "testcase",
        name=_clean(test.name),
        classname=_clean(test.classname),
        time=_seconds(test.duration_seconds),
    )
    if test.cached_from is not None:
        properties = ET.SubElement(element, "properties")
        ET.SubElement(properties, "property", name="cached_from", value=test.cached_from)
    verdict = _verdict(test)
    if verdict is not None:
        element.append(verdict)
    said = [outcome_word(test.outcome, expected_failure=test.expected_failure)]
    cached = [test.message] if test.cached_from is not None and test.message else []
    out = [*(said if said[0] != test.outcome.value else []), *cached, *test.log_tail]
    if out:
        ET.SubElement(element, "system-out").text = _clean("\n".join(out))
    return element


def _verdict(test: TestItem) -> ET.Element | None:
    if test.outcome is Outcome.PASSED:
        return None
    if test.outcome is Outcome.SKIPPED:
        return ET.Element("skipped", message=_first_line(test.message or "skipped"))
    tag = "failure" if test.outcome is Outcome.FAILED else "error"
    kind = test.failure_type or test.outcome.value
    element = ET.Element(tag, message=_first_line(test.message or kind), type=_clean(kind))
    element.text = _clean("\n".join(test.details or [test.message or kind]))
    return element


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", _ANSI.sub("", text))


def _first_line(text: str) -> str:
    """A message attribute is shown as a title: its first line only (the body has the rest)."""
    return _clean(text.strip().splitlines()[0] if text.strip() else text)
