"""An evaluation as an Excel workbook (openpyxl): values, not pictures of them.

Unit names, indicator names and notes come from users. A text cell that a spreadsheet could read
as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a line break) is stored as a
string cell with Excel's quote prefix, so it is shown as the text it is and never evaluated.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from serviceloop.accounts.names import person_name
from serviceloop.evaluation.selectors import EvaluationView

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

__all__ = ["FORMULA_PREFIXES", "workbook_bytes"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def _append(sheet: Worksheet, values: list[Any]) -> None:
    """Append a row; text stays text (openpyxl would store ``=...`` as a formula)."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_PREFIXES):
                cell.quotePrefix = True


def _sheet(workbook: Workbook, title: str, header: list[str], rows: list[list[Any]]) -> None:
    from openpyxl.styles import Font  # loaded with the workbook, see workbook_bytes

    sheet = workbook.create_sheet(title)
    _append(sheet, [str(h) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        _append(sheet, row)
    sheet.freeze_panes = "A2"


def workbook_bytes(view: EvaluationView) -> bytes:
    # openpyxl is imported here, not at the top: this module is reached from the URL configuration,
    # so a top-level import cost every fresh server process 0.2-0.3 s before its first request.
    from openpyxl import Workbook

    e = view.evaluation
    u = e.created_by
    workbook = Workbook()
    about = workbook.active
    about.title = _("Evaluation")
    for label, value in [
        (_("Evaluation"), e.name),
        (_("Indicator system"), e.system.label),
        (_("Units"), e.get_unit_kind_display()),
        (_("Period"), f"{e.period_start:%Y-%m-%d} – {e.period_end:%Y-%m-%d}"),
        (_("Method"), e.get_method_display()),
        (_("Weighting"), e.get_weighting_display()),
        (_("Created by"), person_name(u.first_name, u.last_name, u.username)),
        (_("Created"), e.created_at.strftime("%Y-%m-%d %H:%M")),
    ]:
        _append(about, [str(label), str(value)])
    top_codes = [t.code for t in view.top]
    top_names = {t.code: t.label for t in view.top}
    _sheet(
        workbook,
        _("Ranking"),
        [_("Rank"), _("Unit"), _("Score"), _("Tier")] + [top_names[c] for c in top_codes],
        [
            [r.rank, r.unit_label, round(r.score, 6), r.tier]
            + [
                round(r.dimensions[c], 6) if r.dimensions.get(c) is not None else None
                for c in top_codes
            ]
            for r in view.results
        ],
    )
    labels = {r.unit_key: r.unit_label for r in view.results}
    _sheet(
        workbook,
        _("Measures"),
        [
            _("Unit"),
            _("Indicator"),
            _("Measured value"),
            _("Unit of measure"),
            _("Target"),
            _("Normalised"),
            _("Weight"),
            _("Contribution"),
            _("Based on"),
        ],
        [
            [
                labels.get(m.unit_key, m.unit_key),
                m.indicator.label,
                m.raw_value,
                m.indicator.unit,
                m.indicator.target,
                round(m.normalised, 6),
                round(m.weight, 6),
                round(m.contribution, 6),
                m.basis,
            ]
            for r in view.results
            for m in view.measures_of(r.unit_key)
        ],
    )
    _sheet(
        workbook,
        _("Weights"),
        [_("Indicator"), _("Weight")],
        [[leaf.label, round(e.weights.get(leaf.code, 0.0), 6)] for leaf in view.leaves],
    )
    if e.excluded:
        _sheet(
            workbook,
            _("Left out"),
            [_("Indicator"), _("Reason")],
            [[item.get("name", item.get("code")), item.get("reason", "")] for item in e.excluded],
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
