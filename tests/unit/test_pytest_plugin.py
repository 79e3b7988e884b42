"""The pytest plugin on the fake engine: what it collects and names, how items pass, fail and
skip, its fixtures, and the unittest suite that runs through the same code. The plugin is
active in ``pytester``'s runs through its ``pytest11`` entry point."""

from __future__ import annotations

import shutil
import textwrap
import unittest
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator import FakeBehaviour, FakeEngine
from orchestrator.errors import InputError
from orchestrator.run.settings import RUNNER_IMAGE
from orchestrator.scripttest.cases import load_test_cases
from orchestrator.testing.unittest_suite import CitTestFailure, IntegrationTestSuite

from ..runs import run_dirs as runs_under

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
CLEAN = "/opt/ml/processing/output/clean/clean.csv"
SCORES = "/opt/ml/processing/output/scores/scores.csv"
METRICS = "/opt/ml/processing/output/metrics/metrics.json"
TABLE = "id,score\n1,0.5\n2,0.7\n"
EDGE = "prep.clean -> score.clean"

FILES = {
    "data/raw.csv": "id,x\n1,2\n",
    "scripts/prep.py": "open('/opt/ml/processing/output/clean/clean.csv', 'w')\n",
    "scripts/score.py": """
        open('/opt/ml/processing/output/scores/scores.csv', 'w')
        open('/opt/ml/processing/output/metrics/metrics.json', 'w')
        """,
    "pipeline.py": """
        from orchestrator import Pipeline

        pipeline = Pipeline("tiny")
        prep = pipeline.processing(
            "prep", script="scripts/prep.py", inputs={"raw": "data"}, outputs=["clean"]
        )
        pipeline.processing(
            "score",
            script="scripts/score.py",
            inputs={"clean": prep.output("clean")},
            outputs=["scores", "metrics"],
        )
        """,
    "test_cases/score.yaml": """
        script: ../scripts/score.py
        test_cases:
          - name: good
            input_data: {clean: ../data}
            expected_metrics: {auc: ">= 0.8"}
          - name: too-demanding
            input_data: {clean: ../data}
            expected_metrics: {auc: ">= 0.99"}
            expected_outputs: [roc_curve.jpg]
        """,
    "test_cases/prep.yml": """
        script: prep
        dag: ../pipeline.py
        test_cases:
          - name: raw
            input_data: {raw: ../data}
        """,
    "test_cases/no_script.yaml": "test_cases:\n  - name: not-collected\n",
    "other/score.yaml": "script: ../scripts/score.py\ntest_cases:\n  - name: elsewhere\n",
}

CONFTEST = """
    from orchestrator import FakeBehaviour, FakeEngine
    from orchestrator.errors import EngineUnavailable
    from orchestrator.run.settings import RUNNER_IMAGE

    CLEAN = {clean!r}
    SCORES = {scores!r}
    METRICS = {metrics!r}

    def pytest_cit_engine(config):
        {body}
    """
GREEN = """return FakeEngine(
            {
                "prep": FakeBehaviour(writes={CLEAN: "id,x\\n1,2\\n"}),
                "score": FakeBehaviour(
                    writes={SCORES: "id,score\\n1,0.5\\n", METRICS: '{"auc": 0.9}'}
                ),
            },
            images={RUNNER_IMAGE: "sha256:runner"},
        )"""
PREP_FAILS = """return FakeEngine(
            {"prep": FakeBehaviour(exit_code=3, logs=["KeyError: 'label'"])},
            images={RUNNER_IMAGE: "sha256:runner"},
        )"""
NO_ENGINE = """raise EngineUnavailable("no Docker engine answers at the default socket")"""


@pytest.fixture(autouse=True, scope="module")
def _modules_loaded_before_pytester(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run cit once outside pytester first: pytester drops the modules its in-process runs
    import, and numpy (which cit runs load) cannot be loaded twice in one process."""
    project = write_files(tmp_path_factory.mktemp("warm"))
    cases = IntegrationTestSuite.for_test_cases(
        project / "test_cases" / "score.yaml", engine=fake_engine(), cit_dir=project / ".cit"
    )
    pipeline = IntegrationTestSuite.for_pipeline(
        project / "pipeline.py", engine=fake_engine(), cit_dir=project / ".cit"
    )
    assert run_suite(unittest.TestSuite([cases, pipeline])).testsRun == 5


def write_files(folder: Path) -> Path:
    for name, text in FILES.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def make_project(pytester: pytest.Pytester, engine: str = GREEN, **ini: str) -> Path:
    write_files(pytester.path)
    conftest = textwrap.dedent(CONFTEST).format(
        clean=CLEAN, scores=SCORES, metrics=METRICS, body=engine
    )
    pytester.makeconftest(conftest)
    lines = "\n".join(f"{key} = {value}" for key, value in ini.items())
    pytester.makeini(f"[pytest]\n{lines}\n")
    return pytester.path


def collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = pytester.runpytest("--collect-only", "-q", *args)
    return [line for line in result.outlines if "::" in line]


def run_dirs(project: Path) -> list[Path]:
    return runs_under(project / ".cit" / "runs")


# -- collection -------------------------------------------------------------------------------


def test_case_files_naming_their_script_are_collected_an_item_per_case(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    assert collected(pytester) == [
        "test_cases/prep.yml::raw",
        "test_cases/score.yaml::good",
        "test_cases/score.yaml::too-demanding",
    ]


def test_the_patterns_of_case_files_come_from_the_ini(pytester: pytest.Pytester) -> None:
    make_project(pytester, cit_test_cases="other/*.yaml")
    assert collected(pytester) == ["other/score.yaml::elsewhere"]


def test_listed_pipelines_give_an_item_per_step_and_edge(pytester: pytest.Pytester) -> None:
    make_project(pytester, cit_pipelines="pipeline.py", cit_test_cases="none/*.yaml")
    assert collected(pytester) == [
        "pipeline.py::prep",
        "pipeline.py::score",
        f"pipeline.py::{EDGE}",
    ]
    assert collected(pytester, "test_cases") == []  # only under the paths pytest was given
    assert collected(pytester, "-m", "not cit") == []


def test_a_sagemaker_definition_is_collected_as_a_pipeline(pytester: pytest.Pytester) -> None:
    project = make_project(
        pytester, cit_pipelines="*.definition.json", cit_test_cases="none/*.yaml"
    )
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"
    shutil.copy(fixtures / "tabular.definition.json", project / "tabular.definition.json")
    for name in ("preprocess.py", "train.py", "evaluate.py"):
        (project / name).write_text("print('step')\n")
    (project / "data" / "raw").mkdir(parents=True)
    assert collected(pytester) == [
        "tabular.definition.json::preprocess",
        "tabular.definition.json::train",
        "tabular.definition.json::evaluate",
        "tabular.definition.json::preprocess.train -> train.train",
        "tabular.definition.json::preprocess.val -> train.validation",
        "tabular.definition.json::train.model -> evaluate.model",
        "tabular.definition.json::preprocess.test -> evaluate.test",
    ]


def test_pipeline_globs_are_relative_to_the_rootdir(pytester: pytest.Pytester) -> None:
    make_project(pytester, cit_pipelines="*.py", cit_test_cases="none/*.yaml")
    assert collected(pytester, "pipeline.py") == [
        "pipeline.py::prep",
        "pipeline.py::score",
        f"pipeline.py::{EDGE}",
    ]


def test_a_broken_case_file_is_one_collection_error_line(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    (pytester.path / "test_cases" / "prep.yml").write_text(
        "script: prepare\ndag: ../pipeline.py\ntest_cases:\n  - name: raw\n"
    )
    (pytester.path / "test_cases" / "syntax.yaml").write_text(
        "script: x.py\ntest_cases:\n  - name: [unclosed\n"
    )
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "*test_cases/prep.yml: script: no step named 'prepare' in *pipeline.py; "
            "steps: prep, score",
            "*test_cases/syntax.yaml*",
        ]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert "Traceback" not in result.stdout.str()
    assert "orchestrator/" not in result.stdout.str()


def test_the_projects_own_yaml_files_are_not_collected() -> None:
    """No file under tests/ is a case file naming its script where the defaults would look."""
    from orchestrator.testing.pytest_plugin import DEFAULT_CASE_PATTERNS, _names_its_script

    found = [
        path
        for path in (REPO / "tests").rglob("*")
        if any(path.match(p) for p in DEFAULT_CASE_PATTERNS) and _names_its_script(path)
    ]
    assert found == []


# -- running ----------------------------------------------------------------------------------


def test_each_case_passes_or_fails_with_its_missed_expectations(
    pytester: pytest.Pytester,
) -> None:
    project = make_project(pytester)
    result = pytester.runpytest("test_cases/score.yaml", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ case too-demanding _*",
            "metric: auc is 0.9, expected >= 0.99*",
            "output: expected output 'roc_curve.jpg' was not written*",
            f"run directory: {project}/.cit/runs/*",
            "PASSED test_cases/score.yaml::good",
            "FAILED test_cases/score.yaml::too-demanding - metric: auc*",
        ]
    )
    text = result.stdout.str()
    assert "Traceback" not in text and "unittest_suite.py" not in text
    assert len(run_dirs(project)) == 2  # each case once, in its own run directory


def test_a_file_runs_only_the_cases_selected(pytester: pytest.Pytester) -> None:
    project = make_project(pytester)
    result = pytester.runpytest("test_cases/score.yaml", "-k", "good")
    result.assert_outcomes(passed=1, deselected=1)
    assert len(run_dirs(project)) == 1


def test_a_case_of_a_pipeline_step_runs_that_step(pytester: pytest.Pytester) -> None:
    project = make_project(pytester)
    pytester.runpytest("test_cases/prep.yml").assert_outcomes(passed=1)
    [run] = run_dirs(project)
    assert (run / "steps" / "prep" / "outputs" / "clean" / "clean.csv").is_file()


def test_a_missed_expectation_of_warning_severity_is_a_warning(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    (pytester.path / "test_cases" / "warn.yaml").write_text(
        textwrap.dedent(
            """
            script: ../scripts/score.py
            test_cases:
              - name: few-rows
                input_data: {clean: ../data}
                data_quality_assertions:
                  - {check: row_count, min: 100, output: scores, severity: warning}
            """
        )
    )
    result = pytester.runpytest("test_cases/warn.yaml")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*CitWarning: few-rows: warning, data_quality: row_count on scores: 1 rows, fewer*"]
    )


def test_a_green_pipeline_passes_every_step_and_edge_and_runs_once(
    pytester: pytest.Pytester,
) -> None:
    project = make_project(pytester, cit_pipelines="pipeline.py")
    result = pytester.runpytest("pipeline.py", "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"pipeline.py::{EDGE} PASSED*"])
    assert len(run_dirs(project)) == 1


EXPECTING = """
from orchestrator import Pipeline

pipeline = Pipeline("expecting")
prep = pipeline.processing(
    "prep", script="scripts/prep.py", inputs={"raw": "data"}, outputs=["clean"]
)
score = pipeline.processing(
    "score", script="scripts/score.py", inputs={"clean": prep.output("clean")},
    outputs=["scores", "metrics"],
)
pipeline.expect(score, metrics={"auc": ">= 0.95"}, outputs=["scores/*.csv"])
pipeline.expect(score, data_quality={"scores": [{"row_count": {"equals": prep.output("clean")}}]})
"""


def test_a_pipelines_expectations_are_items_that_pass_or_fail_on_the_run(
    pytester: pytest.Pytester,
) -> None:
    project = make_project(pytester, cit_pipelines="expecting.py", cit_test_cases="none/*.yaml")
    (project / "expecting.py").write_text(EXPECTING)
    assert collected(pytester)[3:] == [
        "expecting.py::score: auc >= 0.95",
        "expecting.py::score: output scores/*.csv",
        "expecting.py::score.scores: row_count {equals: prep.clean}",
    ]
    result = pytester.runpytest("expecting.py", "-rA")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ expectation score: auc >= 0.95 _*",
            "auc is 0.9, expected >= 0.95",
            f"run directory: {project}/.cit/runs/*",
            "PASSED expecting.py::score.scores: row_count {equals: prep.clean}",
            "FAILED expecting.py::score: auc >= 0.95 - auc is 0.9, expected >= 0.95",
        ]
    )
    assert len(run_dirs(project)) == 1


def test_a_failed_step_fails_and_skips_what_needs_it(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, PREP_FAILS, cit_pipelines="pipeline.py")
    result = pytester.runpytest("pipeline.py", "-rA")
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*_ step prep _*",
            "failed (exit code 3): exited with code 3",
            "run directory: *",
            "*Captured cit log call*",
            "KeyError: 'label'",
            "SKIPPED [[]1[]] pipeline.py:1: upstream step 'prep' did not succeed",
            "SKIPPED [[]1[]] pipeline.py:1: nothing flowed: 'prep' did not succeed",
            "FAILED pipeline.py::prep - failed (exit code 3): exited with code 3",
        ]
    )


def test_an_engine_that_cannot_be_reached_fails_every_item_in_one_line(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester, NO_ENGINE)
    result = pytester.runpytest("test_cases")
    result.assert_outcomes(failed=3)
    assert result.outlines.count("no Docker engine answers at the default socket") == 3
    assert "Traceback" not in result.stdout.str()


# -- fixtures ---------------------------------------------------------------------------------


def test_the_fixtures_run_pipelines_and_cases_under_tmp_path(pytester: pytest.Pytester) -> None:
    make_project(pytester, cit_test_cases="none/*.yaml")
    pytester.makepyfile(
        test_fixtures="""
        from pathlib import Path

        from orchestrator import Status


        def test_run(cit_run, cit_settings, tmp_path):
            assert cit_settings.cit_dir == tmp_path / ".cit"
            outcome = cit_run("pipeline.py")
            assert outcome.ok and outcome.all_tests_passed, outcome.problems
            assert outcome.status is Status.SUCCEEDED
            assert list(outcome.steps) == ["prep", "score"]
            assert outcome.run_dir.parent == tmp_path / ".cit" / "runs"
            assert [t.name for t in outcome.report.tests][-1] == "prep.clean -> score.clean"


        def test_run_with_options(cit_run):
            outcome = cit_run("pipeline.py", path=["prep", "score"], max_workers=1)
            assert outcome.ok


        def test_script(cit_test_script):
            result = cit_test_script("scripts/score.py", "test_cases/score.yaml")
            assert (result.total, result.passed) == (2, 1)
            inline = cit_test_script(
                "prep", [{"name": "inline", "input_data": {"raw": "data"}}], dag="pipeline.py"
            )
            assert inline.ok
        """
    )
    pytester.runpytest("test_fixtures.py").assert_outcomes(passed=3)


def test_cit_run_sets_a_sagemaker_pipelines_parameters_and_code_folder(
    pytester: pytest.Pytester,
) -> None:
    project = make_project(pytester, cit_test_cases="none/*.yaml")
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker"
    shutil.copy(fixtures / "tabular.definition.json", project / "tabular.definition.json")
    (project / "code").mkdir()
    for name in ("preprocess.py", "train.py", "evaluate.py"):
        (project / "code" / name).write_text("print('step')\n")
    pytester.makepyfile(
        test_sagemaker="""
        import json


        def test_run(cit_run):
            outcome = cit_run(
                "tabular.definition.json", params={"RawData": "data", "MaxDepth": 7},
                code_dir="code",
            )
            assert list(outcome.steps) == ["preprocess", "train", "evaluate"]
            config = outcome.run_dir / "steps" / "train" / "config" / "hyperparameters.json"
            assert json.loads(config.read_text())["max_depth"] == "7"
        """
    )
    pytester.runpytest("test_sagemaker.py").assert_outcomes(passed=1)


def test_cit_run_reports_a_failed_step(pytester: pytest.Pytester) -> None:
    make_project(pytester, PREP_FAILS, cit_test_cases="none/*.yaml")
    pytester.makepyfile(
        test_failing="""
        def test_run(cit_run):
            outcome = cit_run("pipeline.py")
            assert not outcome.ok
            assert outcome.problems[0].startswith("prep: failed (exit code 3)")
        """
    )
    pytester.runpytest("test_failing.py").assert_outcomes(passed=1)


# -- the test-case file's script --------------------------------------------------------------


def test_a_case_file_keeps_its_script_dag_and_contract(tmp_path: Path) -> None:
    (tmp_path / "cases").mkdir()
    (tmp_path / "p.py").write_text("")
    (tmp_path / "s.py").write_text("")
    (tmp_path / "c.yaml").write_text("")
    step = write(tmp_path, "cases/a.yaml", "script: prep\ndag: ../p.py\ntest_cases: [{name: a}]")
    loaded = load_test_cases(step)
    assert (loaded.script, loaded.dag, loaded.contract) == ("prep", tmp_path / "p.py", None)
    script = write(
        tmp_path, "cases/b.yaml", "script: ../s.py\ncontract: ../c.yaml\ntest_cases: [{name: a}]"
    )
    loaded = load_test_cases(script)
    assert (loaded.script, loaded.contract) == (str(tmp_path / "s.py"), tmp_path / "c.yaml")
    assert load_test_cases(write(tmp_path, "cases/c.yaml", "test_cases: [{name: a}]")).dag is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("scirpt: a.py\n", "scirpt: unknown field 'scirpt' (did you mean 'script'?)"),
        ("dag: p.py\n", "dag: is the pipeline of a step; add 'script: STEP' as well"),
        ("contract: c.yaml\n", "contract: is a script file's; add 'script: FILE.py' as well"),
        ("script: a.py\n", "script: no such file: "),
        ("script: [a]\n", "script: must be a step name of 'dag:', or a script file"),
        ("script: s\ndag: nope.py\n", "dag: no such file: "),
        (
            "script: s\ndag: p.py\ncontract: c.yaml\n",
            "contract: goes with a script file; a step of 'dag:' uses its pipeline's contract",
        ),
    ],
)
def test_mistakes_in_the_script_keys_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "p.py").write_text("")
    (tmp_path / "c.yaml").write_text("")
    path = write(tmp_path, "cases.yaml", text + "test_cases: [{name: a}]\n")
    with pytest.raises(InputError) as caught:
        load_test_cases(path)
    assert str(caught.value).startswith(f"{path}: {expected}")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# -- unittest ---------------------------------------------------------------------------------


def fake_engine(auc: float = 0.9) -> FakeEngine:
    return FakeEngine(
        {
            "prep": FakeBehaviour(writes={CLEAN: TABLE}),
            "score": FakeBehaviour(writes={SCORES: TABLE, METRICS: f'{{"auc": {auc}}}'}),
        },
        images={RUNNER_IMAGE: "sha256:runner"},
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_files(tmp_path)


def run_suite(suite: unittest.TestSuite) -> unittest.TestResult:
    result = unittest.TestResult()
    suite.run(result)
    return result


def test_a_unittest_suite_of_a_pipeline_has_a_test_per_step_and_edge(project: Path) -> None:
    fake = fake_engine()
    suite = IntegrationTestSuite.for_pipeline(
        project / "pipeline.py", engine=fake, cit_dir=project / ".cit"
    )
    assert [str(test) for test in suite] == [
        "pipeline.py::prep",
        "pipeline.py::score",
        f"pipeline.py::{EDGE}",
    ]
    result = run_suite(suite)
    assert (result.testsRun, result.failures, result.errors) == (3, [], [])
    assert len(fake.specs) == 2  # one run for the three tests


def test_a_unittest_suite_of_cases_fails_a_case_with_its_lines(project: Path) -> None:
    suite = IntegrationTestSuite.for_test_cases(
        project / "test_cases" / "score.yaml", engine=fake_engine(), cit_dir=project / ".cit"
    )
    result = run_suite(suite)
    assert result.testsRun == 2 and result.errors == []
    [(test, text)] = result.failures
    assert str(test) == "score.yaml::too-demanding"
    assert "CitTestFailure: metric: auc is 0.9, expected >= 0.99\n" in text
    assert "output: expected output 'roc_curve.jpg' was not written" in text
    assert "unittest_suite.py" not in text  # no frames of cit


def test_the_seed_shape_runs_a_pipeline_and_a_script(project: Path) -> None:
    suite = IntegrationTestSuite(engine=fake_engine(auc=0.995), cit_dir=project / ".cit")
    outcome = suite.test_pipeline(project / "pipeline.py")
    assert outcome.all_tests_passed and outcome.run_dir.is_dir()
    assert repr(outcome) == (
        f"RunOutcome(pipeline='tiny', status='succeeded', ok=True, run_dir='{outcome.run_dir}')"
    )
    result = suite.test_script(
        project / "scripts" / "score.py", project / "test_cases" / "score.yaml"
    )
    assert (result.passed, result.failed) == (1, 1)
    assert result.result("too-demanding").failures[0].kind == "output"


def test_a_case_file_without_a_script_is_refused_by_the_suite(project: Path) -> None:
    with pytest.raises(InputError, match="names no script; add 'script: STEP' with"):
        IntegrationTestSuite.for_test_cases(project / "test_cases" / "no_script.yaml")


def test_a_failed_verdict_is_an_assertion_error() -> None:
    assert issubclass(CitTestFailure, AssertionError)  # unittest counts it a failure
    assert str(CitTestFailure(["a", "b"])) == "a\nb"


def test_a_missing_runner_image_is_built_with_its_progress_said(
    monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    """Without an engine of the user's, the Docker engine is used and builds what it lacks."""
    from orchestrator.engines import docker_engine, image_build
    from orchestrator.testing.unittest_suite import CitRunner, load_pipeline_file

    class Docker(FakeEngine):
        def image_tools(self) -> str:
            return "tools"

    built: list[tuple[object, str]] = []

    def build(tools: object, *, tag: str, on_line: Callable[[str], None]) -> str:
        built.append((tools, tag))
        on_line("step 1/3")
        return "sha256:new"

    docker = Docker(fake_engine().behaviours)  # without the runner image
    monkeypatch.setattr(docker_engine, "connect", lambda: docker)
    monkeypatch.setattr(image_build, "build_runner_image", build)
    said: list[str] = []
    runner = CitRunner(project / ".cit", say=said.append)
    assert runner.run_pipeline(*load_pipeline_file(project / "pipeline.py")).ok
    assert built == [("tools", RUNNER_IMAGE)]
    assert said == [
        f"building runner image {RUNNER_IMAGE} (once; later runs reuse it)",
        "  step 1/3",
    ]
