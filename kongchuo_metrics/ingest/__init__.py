"""Ledger files -> typed tables, with a report in which every input row is accounted for.

Every data row ends in exactly one of three places: loaded, quarantined (with Excel row, column, raw value
and a Chinese reason) or excluded (blank, 合计/小计 total, repeated header, exact duplicate). Problems that do not
stop a row being counted are warnings on kept rows: a child never vanishes from a count because of a typo.

The package's seams: ``files`` (reading and safety), ``sheets`` (header detection, raw tables), ``problems``
(the problem table), ``columns``/``cases``/``tables`` (typed tables), ``linking`` (identity and linking),
``ledger`` (the result types) and ``load`` (the entry point).
"""

from .files import Grid, file_digest, read_grids
from .files import _decode as _decode
from .ledger import PROBLEM_COLUMNS, IngestReport, Ledger, LedgerError, SheetReport
from .load import load_ledger
from .sheets import HeaderMatch, find_header

__all__ = [
    "PROBLEM_COLUMNS",
    "Grid",
    "HeaderMatch",
    "IngestReport",
    "Ledger",
    "LedgerError",
    "SheetReport",
    "file_digest",
    "find_header",
    "load_ledger",
    "read_grids",
]
