"""Read an HTML document as a test sees it: its tables' cells, its text, its elements."""

from __future__ import annotations

from html.parser import HTMLParser


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            table: list[list[str]] = []
            self._stack.append(table)
            self.tables.append(table)
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag in ("td", "th") and self._cell is not None and self._stack:
            self._stack[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def read_html(html: str) -> _Reader:
    """The document's `tables` (rows of cell texts), `tags` (name, attributes) and `text`."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def table_with(html: str, header: str) -> list[list[str]]:
    """The rows of the first table whose first row starts with the cell `header`."""
    for table in read_html(html).tables:
        if table and table[0] and table[0][0] == header:
            return table
    raise AssertionError(f"no table headed {header!r}")
