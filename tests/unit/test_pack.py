"""The briefing pack: generated for the sample, opened with pdftotext/pdftoppm, checked for numbers and names."""

import datetime as dt
import json
import subprocess
import sys

import pytest

from kongchuo_metrics import figures, metrics, pack
from kongchuo_metrics.settings import load_settings
from tests.conftest import ROOT, SAMPLE_DIR

OUT = ROOT / "tests" / "out" / "pack"


@pytest.fixture(scope="module")
def sample_pack(sample_ledger):
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    result = pack.make_pack(
        sample_ledger, sel, load_settings(SAMPLE_DIR), figures.load_boundaries(SAMPLE_DIR)
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "pack.pdf"
    path.write_bytes(result.pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(OUT / "page")], check=True, timeout=120)
    print(f"\npack pages: {OUT}")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return result, text


def test_pack_has_eight_a4_landscape_pages(sample_pack):
    result, _ = sample_pack
    assert result.pages == 8
    info = subprocess.run(["pdfinfo", str(OUT / "pack.pdf")], capture_output=True, text=True).stdout
    assert "Pages:           8" in info and "841.92 x 594.96 pts (A4)" in info  # A4 landscape
    assert len(list(OUT.glob("page-*.png"))) == 8


def test_pack_carries_table_1_and_table_2(sample_pack):
    _, text = sample_pack
    rows = [line.split() for line in text.splitlines() if line.strip().startswith("2019-0")]
    assert [int(r[1]) for r in rows[:6]] == [102, 49, 43, 38, 28, 25]
    assert [int(r[3]) for r in rows[1:6]] == [53, 6, 5, 10, 3] and int(rows[5][4]) == 77
    for school in (
        "黄练二中",
        "黄练三中",
        "蒙公一中",
        "蒙公民中",
        "樟木三中",
        "樟木民中",
        "三里一中",
        "三里二中",
        "五里一中",
        "五里二中",
        "石卡一中",
    ):
        assert school in text
    assert "562" in text and "361" in text and "口径说明" in text
    assert "较上一统计日减少3人" in text.replace(" ", "")  # changes in words, as in the Word report


def test_pack_has_no_full_names_ids_or_phones(sample_pack, sample_ledger):
    _, text = sample_pack
    flat = text.replace(" ", "")
    names = (
        set(sample_ledger.cases["name"].dropna())
        | set(sample_ledger.special_ed["name"].dropna())
        | set(sample_ledger.cases["guardian_name"].dropna())
    )
    leaked = [n for n in names if len(n) >= 2 and n in flat]
    assert not leaked, leaked[:5]
    assert not any(i in flat for i in sample_ledger.cases["id_number"].dropna())
    assert not any(p in flat for p in sample_ledger.cases["guardian_phone"].dropna())


def test_pptx_has_the_same_eight_parts_as_the_pdf(sample_pack, sample_ledger):
    import io

    from pptx import Presentation

    result, text = sample_pack
    prs = Presentation(io.BytesIO(result.pptx))
    titles = [s.shapes.title.text for s in prs.slides]
    c = _content(sample_ledger)
    assert titles == pack.section_titles(c) and len(titles) == result.pages == 8
    flat = text.replace(" ", "").replace("\n", "")
    assert all(t.replace(" ", "") in flat for t in titles[1:])  # the PDF's page headings are the same
    pictures = [sum(sh.shape_type == 13 for sh in s.shapes) for s in prs.slides]
    assert pictures[2] == pictures[3] == pictures[5] == pictures[6] == 1  # charts and the map as images
    kpi_text = " ".join(sh.text_frame.text for sh in prs.slides[1].shapes if sh.has_text_frame)
    assert "25" in kpi_text and "77" in kpi_text and "红线守住" in kpi_text


def _content(ledger, townships=()):
    sel = metrics.Selection(townships=townships, as_of=dt.date(2019, 6, 25))
    return pack.content(ledger, sel, load_settings(SAMPLE_DIR), figures.load_boundaries(SAMPLE_DIR))


def figure_labels(fig) -> set[str]:
    """Every tick and category label the figure spec implies: category values of category axes and the
    integer ticks of count axes (tick0 + k * dtick up to the axis range), formatted as plotly does (",d")."""
    out: set[str] = set()
    layout = fig.layout
    for axis_name in ("xaxis", "yaxis"):
        axis = layout[axis_name]
        if not axis.visible and axis.visible is not None:
            continue
        if axis.tickmode == "linear" and axis.range is not None:
            k = 0
            while axis.tick0 + k * axis.dtick <= axis.range[1]:
                out.add(f"{int(axis.tick0 + k * axis.dtick):,}")
                k += 1
    for trace in fig.data:
        if trace.type != "bar" and trace.type != "scatter":
            continue
        horizontal = getattr(trace, "orientation", None) == "h"
        cats = trace.y if horizontal else trace.x
        axis = layout["yaxis" if horizontal else "xaxis"]
        if axis.visible is False or cats is None:
            continue
        if axis.type == "category" or (cats is not None and isinstance(cats[0], str)):
            out |= {str(v) for v in cats}
    for ann in layout.annotations or ():
        if ann.text:
            out.add(ann.text)
    return out


def svg_labels(svg: str) -> list[tuple[str, float, float, float]]:
    """Tick and annotation texts of a plotly SVG with their horizontal extent and baseline: (text, left, right,
    y), widths estimated as figures.text_width does (a CJK character one em)."""
    import re

    out = []
    for m in re.finditer(r'<g class="(?:x|y)tick"><text ([^>]*)>([^<]*)</text>', svg):
        attrs, label = m.group(1), m.group(2)
        get = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        tx, ty = map(
            float,
            re.search(
                r"translate\(([-\d.]+),\s*([-\d.]+)\)", get.get("transform", "translate(0,0)")
            ).groups(),
        )
        size = float(re.search(r"font-size: ([\d.]+)px", get["style"]).group(1))
        width = figures.text_width(label, size)
        x = float(get.get("x", 0)) + tx
        left = {"end": x - width, "middle": x - width / 2}.get(get.get("text-anchor"), x)
        out.append((label, left, left + width, float(get.get("y", 0)) + ty))
    return out


def test_every_pack_chart_label_is_drawn_inside_its_box(sample_ledger):
    c = _content(sample_ledger)
    svgs = {name: pack._svg(fig, name) for name, fig in c.figures.items()}
    for name, svg in svgs.items():
        width, height = pack.chart_size(name, c.figures[name])
        drawn = svg_labels(svg)
        texts = [t for t, *_ in drawn]
        assert figure_labels(c.figures[name]) - set(
            c.figures[name].layout.annotations and [a.text for a in c.figures[name].layout.annotations] or []
        ) <= set(texts), (name, figure_labels(c.figures[name]) - set(texts))
        for label, left, right, y in drawn:
            assert 0 <= left and right <= width and 0 < y <= height, (name, label, left, right, y)
        ticks = [t for t in texts if t.replace(",", "").isdigit()]
        assert len(ticks) == len(set(ticks)), (name, ticks)  # never 0 1 1 2 2


def test_every_pack_chart_label_is_in_the_pdf_text_layer(sample_pack, sample_ledger):
    # charts are inline SVG: the PDF's text layer holds every tick and category label of each figure
    _, _ = sample_pack
    c = _content(sample_ledger)
    text = subprocess.run(["pdftotext", str(OUT / "pack.pdf"), "-"], capture_output=True, text=True).stdout
    flat = "".join(text.split())
    for name, fig in c.figures.items():
        wanted = figure_labels(fig)
        assert wanted, name
        missing = [w for w in wanted if "".join(w.split()) not in flat]
        assert not missing, (name, missing)
    # the axis ranges hold whole numbers only, never 0 1 1 2 2
    for name in ("trend", "schools", "placements"):
        axis = c.figures[name].layout["xaxis" if name == "schools" else "yaxis"]
        assert axis.tickmode == "linear" and float(axis.dtick).is_integer() and axis.dtick >= 1, name


def test_pack_for_a_township_names_it_on_the_cover_and_fits_its_labels(sample_ledger, tmp_path):
    sel = metrics.Selection(townships=("三里镇",), as_of=dt.date(2019, 6, 25))
    c = _content(sample_ledger, ("三里镇",))
    result = pack.make_pack(
        sample_ledger, sel, load_settings(SAMPLE_DIR), figures.load_boundaries(SAMPLE_DIR)
    )
    path = tmp_path / "sanli.pdf"
    path.write_bytes(result.pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(tmp_path / "p")], check=True, timeout=120)
    assert len(list(tmp_path.glob("p-*.png"))) == 8
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    cover = text.split("\f")[0]
    assert "三里镇控辍保学工作情况汇报" in cover and cover.count("统计日期") == 1
    flat = "".join(text.split())
    for name, fig in c.figures.items():
        missing = [w for w in figure_labels(fig) if "".join(w.split()) not in flat]
        assert not missing, (name, missing)


def test_missing_chromium_is_explained(monkeypatch, sample_ledger):
    monkeypatch.setattr(pack, "chromium_path", lambda: None)
    with pytest.raises(pack.PackError, match="apt-get install -y chromium fonts-noto-cjk"):
        pack.make_pack(
            sample_ledger, metrics.Selection(as_of=dt.date(2019, 6, 25)), load_settings(SAMPLE_DIR), None
        )


def test_cli_pack_is_audited(tmp_path):
    log = tmp_path / "audit.jsonl"
    out = tmp_path / "三里镇.pdf"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "kongchuo_metrics",
            "pack",
            str(SAMPLE_DIR),
            "--as-of",
            "2019-06-25",
            "--township",
            "三里镇",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={"KONGCHUO_AUDIT": str(log), "PATH": "/usr/bin:/bin"},
    )
    assert p.returncode == 0, p.stderr
    rec = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert rec["event"] == "pack" and "三里镇" in rec["filters"] and rec["pages"] == 8
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "三里二中" in text and "黄练二中" not in text


def test_a_ledger_with_only_the_cases_table_still_makes_every_figure(tmp_path):
    from kongchuo_metrics.ingest import load_ledger
    from tests.conftest import case_row, write_csv

    write_csv(
        tmp_path / "台账.csv", [case_row(name="甲"), case_row(name="乙", closed="2019.4.1", outcome="已返校")]
    )
    ledger = load_ledger(tmp_path)
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    assert metrics.special_ed_summary(ledger.special_ed)["total"] == 0
    rates = {
        r.key: r
        for r in metrics.rates(
            ledger.cases, ledger.schools, metrics.Selection(as_of="2019-06-25"), load_settings(None).targets
        )
    }
    assert rates["dropout_junior"].value is None and "无法计算" in rates["dropout_junior"].note
    result = pack.make_pack(ledger, sel, load_settings(None), None, with_pptx=False)
    assert result.pages == 8


def test_the_pdf_and_the_pptx_open_with_the_last_meetings_duban_items(sample_ledger):
    import io

    from pptx import Presentation

    from kongchuo_metrics.records import workflows

    item = {
        "id": 1,
        "number": "覃塘区控辍督〔2019〕第1号",
        "township": "三里镇",
        "item": "三里镇超期未跟进个案督办（2人）",
        "lead_unit": "三里镇人民政府",
        "partners": "县教育局",
        "due": "2019-07-05",
        "cycle_days": 7,
        "content": "请逐一落实劝返责任人。",
        "children": 2,
        "created_at": "2019-06-25T09:00:00+08:00",
        "status": "已反馈",
        "overdue": True,
        "overdue_reason": "已过交办时限仍未办结",
        "feedback": [{"text": "已联合家访1人", "at": "2019-06-28T10:00:00+08:00"}],
    }
    brief = workflows.duban_brief([item])
    sel = metrics.Selection(as_of=dt.date(2019, 6, 25))
    result = pack.make_pack(sample_ledger, sel, load_settings(SAMPLE_DIR), None, duban=brief)
    prs = Presentation(io.BytesIO(result.pptx))
    titles = [s.shapes.title.text for s in prs.slides]
    assert titles[1] == pack.DUBAN_TITLE and len(titles) == result.pages == 9  # after the cover, like the PDF
    table = next(sh.table for sh in prs.slides[1].shapes if sh.has_table)
    assert [c.text for c in table.rows[0].cells] == brief.columns.tolist()
    assert table.cell(1, 0).text == "覃塘区控辍督〔2019〕第1号" and table.cell(1, 1).text == "三里镇"
    pdf = subprocess.run(["pdftotext", "-", "-"], input=result.pdf, capture_output=True, check=True).stdout
    page2 = pdf.decode("utf-8").split("\f")[1]
    assert pack.DUBAN_TITLE in page2 and "覃塘区控辍督〔2019〕第1号" in page2.replace(" ", "")
