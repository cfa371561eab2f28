"""Contracts: masking reaches every page, the core stays pure, every page is registered, labels are Chinese."""

import re

import pytest

from kongchuo_metrics import schema
from kongchuo_metrics.labels import COLUMN_LABELS
from tests.app.conftest import PAGES, block_audit, open_page
from tests.conftest import ROOT

PERSONAL_LABELS = {f.label for fields in schema.FIELDS.values() for f in fields if f.personal}
MASKED_OK = {"姓名", "监护人", "联系电话", "未返校学生（已脱敏）"}


def _full_names(ledger) -> set[str]:
    names = set(ledger.cases["name"].dropna()) | set(ledger.special_ed["name"].dropna())
    return {n for n in names if len(n) >= 2}


def _all_text(at) -> str:
    parts = [
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "text")
        for e in at.get(kind)
    ]
    for d in at.dataframe:
        parts.append(d.value.to_csv())
    return "\n".join(parts)


@pytest.mark.parametrize("mode", ["list", "briefing"])
@pytest.mark.parametrize("page", list(PAGES))
def test_no_page_shows_an_unmasked_personal_column(sample_ledger, page, mode):
    at = open_page(page, {"briefing": "true"} if mode == "briefing" else None)
    if page == "schools":
        at.selectbox(key="schools_pick").set_value("三里二中").run()
    if page == "followup":
        at.selectbox(key="fu_case").set_value(at.dataframe[0].value["个案编号"].iloc[0]).run()
    for frame in (d.value for d in at.dataframe):
        leaked = (set(frame.columns) & PERSONAL_LABELS) - MASKED_OK
        assert not leaked, (page, leaked)
        if "姓名" in frame.columns:
            assert all("*" in str(v) for v in frame["姓名"].dropna()), page
        if mode == "briefing":
            assert not ({"监护人", "联系电话", "备注"} & set(frame.columns))
    text = _all_text(at)
    shown = [n for n in _full_names(sample_ledger) if n in text]
    assert not shown, (page, shown[:5])
    assert not re.search(r"\d{17}[\dX]", text)  # no ID number anywhere


def test_core_never_imports_streamlit():
    for path in (ROOT / "kongchuo_metrics").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+streamlit", path.read_text(encoding="utf-8"), re.M), (
            path.name
        )


def test_every_page_is_registered_with_a_chinese_title():
    from kongchuo_metrics.labels import PAGES as REGISTRY

    registered = {script: (title, url) for script, title, url, _, _ in REGISTRY}
    for page in (ROOT / "pages").glob("*.py"):
        title, url = registered[f"pages/{page.name}"]
        assert re.search(r"[\u4e00-\u9fff]", title) and re.fullmatch(r"[a-z_]+", url), page.name
    assert len(registered) == len(list((ROOT / "pages").glob("*.py")))


def test_no_private_streamlit_api():
    for path in [ROOT / "app.py", *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]:
        src = path.read_text(encoding="utf-8")
        assert "streamlit.runtime" not in src and "PagesManager" not in src, path.name
        assert not re.search(r"\bst\._|streamlit\.[a-z_]+\._", src), path.name


def test_every_field_and_output_column_has_a_chinese_label():
    for fields in schema.FIELDS.values():
        for f in fields:
            assert re.search(r"[\u4e00-\u9fff]", f.label), f.name
    for key, label in COLUMN_LABELS.items():
        assert re.search(r"[\u4e00-\u9fff]", label), key


def test_pages_stay_thin():
    for page in (ROOT / "pages").glob("*.py"):
        src = page.read_text(encoding="utf-8")
        assert ".groupby(" not in src and "px." not in src and "go.Figure" not in src, page.name
        # computations and label books belong to the core: no derived columns, renames, date arithmetic,
        # code lists or inline label dicts in a page
        for smell in (".assign(", ".rename(", ".dt.", ".isin([", "value_counts", "format_func={", ".apply("):
            assert smell not in src, (page.name, smell)
        assert src.startswith('"""'), page.name  # a docstring naming the question the page answers
        assert len(src.splitlines()) < 110, page.name


def test_download_refused_when_the_audit_log_cannot_be_written(tmp_path, monkeypatch):
    block_audit(tmp_path, monkeypatch)
    at = open_page("schools")
    assert any("审计日志无法写入" in e.value for e in at.error)
    assert not at.get("download_button")
