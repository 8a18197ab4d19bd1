"""CSV cells that a spreadsheet will not run as formulas (OWASP's CSV injection rule).

Worker ids, file names and class names reach our CSV files from people we do not trust (an
anonymous visitor chooses their own MTurk-style worker id). A spreadsheet treats a cell that
begins with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula; prefixing a single quote
makes it text. Only text is touched: numbers, negative ones included, stay numbers. Every CSV
writer goes through `safe_cell` (and the PostgreSQL export through `safe_cell_sql`, the same rule).
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def safe_cell(value: object) -> object:
    """`value`, with a leading single quote if it is text that a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return ESCAPE + value
    return value


def safe_cell_sql(text_sql: str) -> str:
    """`safe_cell` as a PostgreSQL expression over a text expression."""
    starts = ", ".join("E'" + start.replace("\t", "\\t").replace("\r", "\\r") + "'" for start in FORMULA_STARTS)
    return f"CASE WHEN left({text_sql}, 1) IN ({starts}) THEN '{ESCAPE * 2}' || {text_sql} ELSE {text_sql} END"
