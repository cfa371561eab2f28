"""The glue between Streamlit and the pure core (`kongchuo_metrics`), one job per module:

    session    paths, settings, who is looking, the audit line of every action
    data       the ledger the scope may see (loaded once per version, shared between sessions) and other data
    login      local accounts, OIDC and a trusted proxy header; re-checked on every run
    view       the frame: page config, the Chinese menu, the sidebar filters (in the URL), 汇报模式, captions
    widgets    escaped text, empty-selection messages, tables, charts, choices, rate cards
    downloads  audited downloads: CSV/xlsx, the pack, the Word report, the case file
    reconcile  数据比对 uploads and results;  records  督办单 and notices;  mapping, imports  the upload page

Pages `import ui` and use the names below; they choose, call the core and render, nothing more.
"""

from __future__ import annotations

from .data import (  # noqa: F401
    _LEDGERS,
    delivered_notices,
    duban_brief,
    followup_stamp,
    followup_status,
    followups_with_notices,
    ledger_source,
    notice_listing,
    paper_settings,
    ranking_brief,
    ranking_rules,
    records_engine,
    reporting_calendar,
    shared,
)
from .downloads import (  # noqa: F401
    _HANDOFF,
    DOCX,
    NOT_FETCHED,
    REFUSED_AUDIT,
    REFUSED_SCOPE,
    TABLE_LABELS,
    XLSX,
    DownloadRefused,
    audited_download,
    case_file_button,
    case_list,
    document_download,
    downloads,
    export_title,
    pack_button,
    report_button,
)
from .login import (  # noqa: F401
    LOCAL_USER,
    LOGIN_TITLE,
    SESSION_ENDED,
    require_login,
    revalidate,
)
from .mapping import (  # noqa: F401
    mapping_step,
)
from .reconcile import (  # noqa: F401
    LIST_TYPES,
    check_history,
    check_run_section,
    feedback_download,
    list_report,
    list_upload,
    reconcile_places,
)
from .records import (  # noqa: F401
    duban_actions,
    duban_form,
    notice_controls,
    notices_panel,
)
from .session import (  # noqa: F401
    ROOT,
    audit_event,
    audit_path,
    audit_writable,
    current_scope,
    data_dir,
    settings,
    store_dir,
    users_path,
)
from .view import (  # noqa: F401
    BRIEFING_CSS,
    FRAME_PARAMS,
    View,
    apply_presentation,
    briefing_requested,
    caption,
    current_view,
    frame,
    ledger_line,
    pages,
    run_app,
    sidebar,
    slide_buttons,
    slides,
)
from .widgets import (  # noqa: F401
    EMPTY_MESSAGE,
    SCREEN_ROWS,
    chart,
    choice,
    count_card,
    counting_rule,
    empty,
    literal,
    public,
    rate_cards,
    table,
)
