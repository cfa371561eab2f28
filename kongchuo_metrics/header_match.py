"""Header cells to fields: normalisation (NFKC, hints, brackets), the alias index, qualifiers and guessing by
meaning. The spellings themselves are declared once, in `schema`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .schema import FIELDS, LIST_FIELDS, TABLE_NAME_HINTS, Field, table_fields

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACE = re.compile(r"\s+")
# Hints people put in headers: （√）, (是/否), （填是或否）, (必填), （单位：人）
_HINT = re.compile(r"\((?:[√×✓✗/、是否有无或填写打必选]+|必填|选填|单位[:：]?[^)]*|年月日|yyyy[^)]*)\)")


def normalize_text(value: str) -> str:
    """NFKC, without zero-width characters, with inner white space collapsed to one space and trimmed."""
    text = unicodedata.normalize("NFKC", value)
    text = _ZERO_WIDTH.sub("", text)
    return _SPACE.sub(" ", text).strip()


def normalize_header(value: object) -> str:
    """A header cell reduced to the form aliases are stored in: NFKC, no spaces or hints, lower case."""
    if value is None:
        return ""
    text = normalize_text(str(value))
    for left, right in ("（）", "【】", "〔〕", "[]", "<>", "《》"):
        text = text.replace(left, "(").replace(right, ")")
    text = _SPACE.sub("", text)
    text = _HINT.sub("", text)
    return text.lower()


def _alias_index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for table, fields in FIELDS.items():
        idx: dict[str, str] = {}
        for f in fields:
            for alias in f.aliases:
                idx.setdefault(normalize_header(alias), f.name)
        index[table] = idx
    return index


ALIASES: dict[str, dict[str, str]] = _alias_index()
ALIASES.update(  # the lists checked against the ledger (三比对): the first listed spelling wins
    {
        kind: {normalize_header(a): f.name for f in reversed(fields) for a in reversed(f.aliases)}
        for kind, fields in LIST_FIELDS.items()
    }
)

# Qualifiers that do not change what a header names: 现就读学校 is 就读学校, 户籍所在村 is 村, 学校名称 is 学校.
QUALIFIER_PREFIXES = ("户籍", "户口", "现", "原", "所在", "所属", "目前", "当前", "居住")
QUALIFIER_SUFFIXES = ("名称", "情况", "信息", "名单")
DATE_MARKERS = ("时间", "日期", "年月", "时点", "年份", "日子")
COUNT_MARKERS = ("数", "人", "次")

CERTAIN = 0.9  # a guess at or above this needs no confirmation


@dataclass(frozen=True)
class Guess:
    """What a header names: the field, how sure (1.0 listed, 0.9 listed after qualifiers, lower by meaning)."""

    field: str
    confidence: float
    how: str  # 标准表头/别名 | 去掉修饰词 | 按含义 | 设置


def _strip_brackets(key: str) -> str:
    return re.sub(r"\(.*?\)", "", key)


def _unqualified(key: str) -> list[str]:
    """`key` with leading and trailing qualifiers removed one at a time (each step kept)."""
    out, cur, changed = [], key, True
    while changed:
        changed = False
        for q in QUALIFIER_PREFIXES:
            if cur.startswith(q) and len(cur) > len(q):
                cur, changed = cur[len(q) :], True
                out.append(cur)
        for q in QUALIFIER_SUFFIXES:
            if cur.endswith(q) and len(cur) > len(q):
                cur, changed = cur[: -len(q)], True
                out.append(cur)
    return out


def _meaning_score(f: Field, text: str) -> tuple[int, int]:
    """(matched characters, position of the match's end) of the field's best identifying word in `text`."""
    best = (0, -1)
    for word in f.words:
        parts = word.split("+")
        if all(p in text for p in parts):
            best = max(best, (sum(len(p) for p in parts), max(text.rfind(p) + len(p) for p in parts)))
    return best


def guess_by_meaning(table: str, key: str) -> tuple[Guess | None, list[str]]:
    """The field a normalised header means by its words and value kind, and the tied candidates if unsure."""
    text = key.replace("(", "").replace(")", "")
    dated = any(m in text for m in DATE_MARKERS)
    counted = any(m in text for m in COUNT_MARKERS)
    question = text.startswith("是否")
    scored = []
    for f in table_fields(table):
        score = _meaning_score(f, text)
        if score[0] == 0 or any(a in text for a in f.avoid):
            continue
        if f.kind == "date" and not dated:
            continue
        if f.kind != "date" and dated:
            continue
        if f.kind == "int" and not counted:
            continue
        if question and f.kind != "flag":
            continue
        if f.kind == "flag" and not question and f.name in ("returned",):
            continue
        scored.append((score, f.name))
    if not scored:
        return None, []
    scored.sort(reverse=True)
    top = [name for score, name in scored if score == scored[0][0]]
    if len(top) > 1:
        return None, top
    runner_up = scored[1][0][0] if len(scored) > 1 else 0
    confidence = 0.8 if scored[0][0][0] >= 3 and runner_up < scored[0][0][0] else 0.6
    return Guess(top[0], confidence, "按含义"), []


def guess_field(table: str, header: object) -> Guess | None:
    """The canonical field a header cell names in `table`, with a confidence; None when nothing fits."""
    key = normalize_header(header)
    if not key:
        return None
    idx = ALIASES[table]
    if key in idx:
        return Guess(idx[key], 1.0, "标准表头/别名")
    bare = _strip_brackets(key)
    if bare and bare in idx and bare != key:
        # 乡镇（街道）名称 / 学生姓名（必填）: a bracket of hints around a listed header
        inner = key[len(bare) :] if key.startswith(bare) else ""
        guess = guess_by_meaning(table, inner.strip("()"))[0] if inner else None
        if guess is None or guess.field == idx[bare]:
            return Guess(idx[bare], 0.95, "标准表头/别名")
    for variant in (*_unqualified(key), *_unqualified(bare)):
        if variant in idx:
            return Guess(idx[variant], CERTAIN, "去掉修饰词")
    return guess_by_meaning(table, key)[0]


def match_header(table: str, header: object) -> str | None:
    """The canonical field a header cell names in `table`, or None."""
    guess = guess_field(table, header)
    return guess.field if guess else None


def label_to_field(table: str, label: str) -> str | None:
    """The field of `table` whose standard header (or alias, or English name) is `label`."""
    key = normalize_header(label)
    for f in FIELDS[table]:
        if normalize_header(f.label) == key or f.name == label:
            return f.name
    return ALIASES[table].get(key)


def table_from_name(name: str) -> str | None:
    """The table a sheet or file name points to, by the hints above, or None."""
    key = normalize_header(name)
    for table, hints in TABLE_NAME_HINTS:
        if any(h.lower() in key for h in hints):
            return table
    return None
