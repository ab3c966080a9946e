"""Checks that keep the ``database`` source read-only: identifiers and SELECT-only queries.

Table and column names are checked against a strict pattern and then quoted by the dialect
(SQLAlchemy's identifier preparer); they are never interpolated into SQL text. A configured
query is scanned once: comments and quoted text are set aside, then the remaining words must
form a single ``SELECT`` (or ``WITH ... SELECT``). Anything else is refused with a VALIDATION
error that names what was refused.

This is a guard against mistakes and naive injection, not a sandbox: a SELECT can still call a
function with side effects. Give the source a database user that may only read.
"""

from __future__ import annotations

import re

from spine_host.errors import ErrorCategory, SpineError

__all__ = ["check_column_name", "check_select", "split_table_name"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")

# Statements that can hide inside a query: PostgreSQL runs "WITH x AS (DELETE ... RETURNING *)
# SELECT ..." and "WITH x AS (...) DELETE ...". Refused after "(" and ")"; other words there
# ("comment", "set") are plausible column names and aliases. A query's first word must be
# SELECT or WITH, and a second statement is refused whatever it is.
_NESTED_STATEMENTS = frozenset(
    [
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "REPLACE",
        "DROP",
        "CREATE",
        "ALTER",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
    ]
)
_NESTED_STATEMENT = re.compile(r"[()]\s*(?P<word>[A-Z_][A-Z0-9_$]*)")
_FIRST_WORD = re.compile(r"[\s(]*(?P<word>[A-Z_][A-Z0-9_$]*)")
# SELECT ... INTO creates a table (PostgreSQL, SQL Server); FOR UPDATE/SHARE takes row locks.
_INTO = re.compile(r"\bINTO\b")
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")


def check_column_name(name: object, what: str = "column") -> str:
    """``name`` when it is a plain identifier (letters, digits, ``_``, ``$``).

    Raises:
        SpineError: VALIDATION, naming the refused value.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise _refused(
            f"{what} {name!r} is not a column name "
            "(letters, digits, _ and $, not starting with a digit)",
            refused=name,
        )
    return name


def split_table_name(name: object) -> tuple[str | None, str]:
    """``(schema, table)`` of ``"table"`` or ``"schema.table"``, each part a plain identifier.

    Raises:
        SpineError: VALIDATION, naming the refused value.
    """
    parts = name.split(".") if isinstance(name, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise _refused(
            f"table {name!r} is not a table name "
            "(letters, digits, _ and $, optionally schema.table)",
            refused=name,
        )
    if len(parts) == 2:
        return parts[0], parts[1]
    return None, parts[0]


def check_select(query: object) -> str:
    """The single SELECT in ``query``, ready to be wrapped as a subquery.

    Comments are replaced by a space and one trailing ``;`` is dropped; quoted text is kept
    verbatim.

    Raises:
        SpineError: VALIDATION naming what was refused: a second statement, a statement that
            is not a query (DROP, DELETE, ...), ``SELECT ... INTO``, a locking clause, an
            unterminated string or comment.
    """
    if not isinstance(query, str) or not query.strip():
        raise _refused("query is empty; expected a single SELECT", refused=query)
    scan = _scan(query)
    statement, terminator, rest = scan.skeleton.partition(";")
    if terminator and rest.strip():
        extra = scan.text[scan.text.index(";", _offset(scan, len(statement))) + 1 :].strip()
        raise _refused(
            f"query refused: more than one statement (after ';': {_excerpt(extra)!r}); "
            "expected a single SELECT",
            refused=extra,
        )
    words = statement.upper()
    first = _FIRST_WORD.match(words)
    if first is None or first["word"] not in ("SELECT", "WITH"):
        shown = first["word"] if first else _excerpt(statement, 20)
        raise _refused(
            f"query refused: it starts with {shown!r}; only a SELECT (or WITH ... SELECT) "
            "is allowed",
            refused=shown,
        )
    for match in _NESTED_STATEMENT.finditer(words):
        if match["word"] in _NESTED_STATEMENTS:
            raise _refused(
                f"query refused: {match['word']} is not allowed; "
                "only a SELECT (or WITH ... SELECT) is allowed",
                refused=match["word"],
            )
    if _INTO.search(words):
        raise _refused(
            "query refused: SELECT ... INTO writes a table; only reading is allowed",
            refused="INTO",
        )
    locking = _LOCKING.search(words)
    if locking:
        clause = " ".join(locking.group().split())
        raise _refused(
            f"query refused: {clause} locks rows; only reading is allowed", refused=clause
        )
    return scan.text[: _offset(scan, len(statement))].strip()


class _Scan:
    """``text``: the query with comments blanked; ``skeleton``: quoted text blanked too.

    ``offsets[i]`` is the position in ``text`` of the skeleton's character ``i``.
    """

    def __init__(self) -> None:
        self.text_parts: list[str] = []
        self.skeleton_parts: list[str] = []
        self.offsets: list[int] = []
        self.length = 0

    def emit(self, text: str, skeleton: str | None = None) -> None:
        """Append ``text`` to the query, and ``skeleton`` (default: the same) to the skeleton."""
        shown = text if skeleton is None else skeleton
        self.offsets.extend(self.length + min(i, len(text)) for i in range(len(shown)))
        self.skeleton_parts.append(shown)
        self.text_parts.append(text)
        self.length += len(text)

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    @property
    def skeleton(self) -> str:
        return "".join(self.skeleton_parts)


def _scan(query: str) -> _Scan:
    scan = _Scan()
    index = 0
    size = len(query)
    while index < size:
        char = query[index]
        pair = query[index : index + 2]
        if pair == "--":
            end = query.find("\n", index)
            index = size if end < 0 else end
            scan.emit(" ")
        elif pair == "/*":
            index = _block_comment_end(query, index)
            scan.emit(" ")
        elif char in "'\"`":
            escapes = char == "'" and _is_escape_string(query, index)
            end = _quoted_end(query, index, char, backslash_escapes=escapes)
            # A quoted identifier stays a word in the skeleton; a string becomes ''.
            scan.emit(query[index:end], "''" if char == "'" else "x")
            index = end
        elif (
            char == "$"
            and (dollar := _DOLLAR_TAG.match(query, index))
            and not _word_before(query, index)
        ):
            tag = dollar.group()
            end = query.find(tag, dollar.end())
            if end < 0:
                raise _refused("query refused: unterminated dollar-quoted string", refused=tag)
            end += len(tag)
            scan.emit(query[index:end], "''")
            index = end
        else:
            scan.emit(char)
            index += 1
    return scan


def _block_comment_end(query: str, start: int) -> int:
    # PostgreSQL nests block comments; counting depth is right for the others too.
    depth = 0
    index = start
    while index < len(query):
        pair = query[index : index + 2]
        if pair == "/*":
            depth += 1
            index += 2
        elif pair == "*/":
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    raise _refused("query refused: unterminated /* comment", refused="/*")


def _quoted_end(query: str, start: int, quote: str, *, backslash_escapes: bool) -> int:
    index = start + 1
    while index < len(query):
        char = query[index]
        if backslash_escapes and char == "\\":
            index += 2
        elif char == quote:
            if query[index + 1 : index + 2] == quote:  # a doubled quote is a literal quote
                index += 2
            else:
                return index + 1
        else:
            index += 1
    kind = "string" if quote == "'" else "quoted identifier"
    raise _refused(f"query refused: unterminated {kind}", refused=query[start : start + 20])


def _is_escape_string(query: str, index: int) -> bool:
    # PostgreSQL's E'...' strings honour backslash escapes.
    return index > 0 and query[index - 1] in "eE" and not _word_before(query, index - 1)


def _word_before(query: str, index: int) -> bool:
    return index > 0 and (query[index - 1].isalnum() or query[index - 1] in "_$")


def _offset(scan: _Scan, skeleton_index: int) -> int:
    if skeleton_index >= len(scan.offsets):
        return scan.length
    return scan.offsets[skeleton_index]


def _excerpt(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _refused(message: str, *, refused: object) -> SpineError:
    return SpineError(
        message,
        category=ErrorCategory.VALIDATION,
        context={"refused": refused if isinstance(refused, str) else repr(refused)},
    )
