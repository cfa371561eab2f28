"""The command line imports only what a command needs: `trend` never loads the charting or web stack."""

import json
import subprocess
import sys

from tests.conftest import REFERENCE_DATES, ROOT, SAMPLE_DIR

HEAVY = ("plotly", "kaleido", "pydeck", "streamlit")


def modules_after(*argv: str) -> tuple[list, set[str]]:
    """Run one command in a fresh interpreter; return its JSON output and the top-level modules it loaded."""
    code = (
        "import contextlib, io, json, sys\n"
        "from kongchuo_metrics import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = cli.main({list(argv)!r})\n"
        "print(json.dumps({'rc': rc, 'out': out.getvalue(), 'modules': sorted({m.split('.')[0] for m in sys.modules})}))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    result = json.loads(p.stdout)
    assert result["rc"] == 0, p.stderr
    return json.loads(result["out"]), set(result["modules"])


def test_trend_does_not_import_plotly_kaleido_pydeck_or_streamlit():
    rows, modules = modules_after("trend", str(SAMPLE_DIR), "--dates", ",".join(REFERENCE_DATES))
    assert [r["open"] for r in rows] == [102, 49, 43, 38, 28, 25]  # the command really ran
    assert "pandas" in modules  # and the check sees what it loaded
    assert not modules & set(HEAVY), modules & set(HEAVY)


def test_summary_and_schools_do_not_import_the_charting_stack():
    for argv in (
        ("summary", str(SAMPLE_DIR), "--as-of", "2019-06-25"),
        ("schools", str(SAMPLE_DIR), "--as-of", "2019-06-25"),
    ):
        _, modules = modules_after(*argv)
        assert not modules & set(HEAVY), (argv[0], modules & set(HEAVY))


def test_validate_and_trend_do_not_import_the_records_database_or_word():
    """The reconcile and records commands are declared only when named: no SQLAlchemy or python-docx start-up."""
    for argv in (("validate", str(SAMPLE_DIR), "--format", "json"), ("trend", str(SAMPLE_DIR))):
        out, modules = modules_after(*argv)
        assert out  # the command ran and printed its result
        assert not modules & {"sqlalchemy", "docx", "pptx"}, (
            argv[0],
            modules & {"sqlalchemy", "docx", "pptx"},
        )


def test_the_full_command_list_is_still_offered():
    from kongchuo_metrics import cli

    for argv in (None, [], ["rank", "--help"], ["nonsense"]):
        names = set(cli.build_parser(argv)._subparsers._group_actions[0].choices)
        assert {"validate", "trend", "reconcile", "rank", "duban", "notice"} <= names, argv
    assert "reconcile" not in cli.build_parser(["validate", "x.xlsx"])._subparsers._group_actions[0].choices
