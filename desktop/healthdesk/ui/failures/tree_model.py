"""The failure-reason tree: app that refused -> category -> fingerprint, with counts.

Built from `store.queries.summary(...).failures` (failing contacts grouped by refusing
app and fingerprint, each classified by the catalog), so its counts are the summary's:
exact, and at every level the sum of the level below. Each node carries the
`ContactFilter` of its contacts (`FilterRole`), which the window hands to the Failing
list's `ContactTableModel.set_filter`.

The model reads nothing itself: whoever shows it reads the summary in the background
(the window, through `Operations`) and hands it over with `set_summary`, a reset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, overload

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from healthdesk.core.failures import Catalog
from healthdesk.core.failures import Reason as FailureReason
from healthdesk.core.model import Connection, Side, Status
from healthdesk.store.pages import ContactFilter
from healthdesk.store.queries import FailureGroup, Summary
from healthdesk.ui.icons import status_icon
from healthdesk.ui.text import plain_tooltip

__all__ = ["FailureTreeModel", "NodeKind"]


_AnyIndex = QModelIndex | QPersistentModelIndex
_HEADERS: Final = ("Failure reason", "Contacts", "Who fixes it")
#: The column of the owner (who acts on a category's failures).
OWNER_COLUMN: Final = 2


class NodeKind(Enum):
    APP = "app"
    CATEGORY = "category"
    FINGERPRINT = "fingerprint"


@dataclass(eq=False, slots=True)
class _Node:
    kind: NodeKind
    text: str
    count: int
    filter: ContactFilter
    reason: FailureReason | None
    parent: _Node | None
    row: int
    children: list[_Node] = field(default_factory=list)


class FailureTreeModel(QAbstractItemModel):
    """The failing contacts of a connection by app that refused, category, fingerprint.

    Column 0 is the node's text (the app's name, the category, the fingerprint), column 1
    its count of contacts, column 2 who fixes it (the category's owner: the customer in
    their data or app, the connection's configuration, nobody, the engineers). Nodes are
    ordered by count, largest first. A category node explains the category in general;
    a fingerprint node explains its own error (naming its field when the error does).

    Signals:
        refreshed(): the tree was rebuilt from a new summary (after a reset).

    Attributes:
        FilterRole: data role of a node's `ContactFilter` (app: that app's failures;
            category: that app's fingerprints of the category; fingerprint: that one).
        CountRole: data role of a node's count (an int), on any column.
        KindRole: data role of a node's level ("app", "category" or "fingerprint").
        OwnerRole: data role of a category's or fingerprint's `core.failures.Owner`.
        total: the number of failing contacts (the sum of the app nodes).
    """

    FilterRole: Final = Qt.ItemDataRole.UserRole + 1
    CountRole: Final = Qt.ItemDataRole.UserRole + 2
    KindRole: Final = Qt.ItemDataRole.UserRole + 3
    OwnerRole: Final = Qt.ItemDataRole.UserRole + 4

    refreshed = Signal()

    def __init__(
        self,
        *,
        summary: Summary,
        catalog: Catalog,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._connection = summary.connection
        self._catalog = catalog
        self._roots: list[_Node] = []
        self.set_summary(summary)

    # ------------------------------------------------------------------ public API

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def total(self) -> int:
        return sum(node.count for node in self._roots)

    def set_summary(self, new: Summary) -> None:
        """Rebuild the tree from `new` (a summary of this model's connection): a reset."""
        if new.connection.id != self._connection.id:
            raise ValueError(f"a summary of {new.connection.id!r}, not {self._connection.id!r}")
        self.beginResetModel()
        self._connection = new.connection
        self._roots = self._build(new)
        self.endResetModel()
        self.refreshed.emit()

    def filter_for(self, index: _AnyIndex) -> ContactFilter | None:
        node = self._node(index)
        return node.filter if node is not None else None

    def explanation_for(self, index: _AnyIndex) -> tuple[str, str] | None:
        """(explanation, fix) of the category of a category or fingerprint node."""
        node = self._node(index)
        if node is None or node.reason is None:
            return None
        return node.reason.explanation, node.reason.fix

    # ------------------------------------------------------------------ Qt model API

    def index(self, row: int, column: int, parent: _AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        parent_node = self._node(parent)
        children = self._roots if parent_node is None else parent_node.children
        return self.createIndex(row, column, children[row])

    @overload
    def parent(self) -> QObject | None: ...
    @overload
    def parent(self, child: _AnyIndex) -> QModelIndex: ...
    def parent(self, child: _AnyIndex | None = None) -> QObject | QModelIndex | None:
        if child is None:
            return super().parent()
        node = self._node(child)
        if node is None or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._roots)
        if parent.column() > 0:
            return 0
        node = self._node(parent)
        return len(node.children) if node is not None else 0

    def columnCount(self, parent: _AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return len(_HEADERS)

    def flags(self, index: _AnyIndex) -> Qt.ItemFlag:
        node = self._node(index)
        if node is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if node.kind is NodeKind.FINGERPRINT:
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(_HEADERS)
        ):
            return _HEADERS[section]
        return None

    def data(self, index: _AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self._node(index)
        if node is None:
            return None
        column = index.column()
        owner = node.reason.owner if node.reason is not None else None
        if role == Qt.ItemDataRole.DisplayRole:
            if column == OWNER_COLUMN:
                return owner.short_label if owner is not None else ""
            return node.text if column == 0 else node.count
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == OWNER_COLUMN:
                return plain_tooltip(f"Who fixes it: {owner.label}") if owner is not None else None
            if column != 0:
                return f"{node.count:,} contacts"
            # Who fixes it is said here too: a narrow tree leaves out its column.
            fixes = f"\n\nWho fixes it: {owner.label}" if owner is not None else ""
            if node.kind is NodeKind.CATEGORY and node.reason is not None:
                return plain_tooltip(f"{node.text}\n\n{node.reason.explanation}{fixes}")
            return plain_tooltip(f"{node.text}{fixes}")
        if role == Qt.ItemDataRole.DecorationRole:
            if column == 0 and node.kind is NodeKind.APP:
                return status_icon(Status.FAILING)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 1:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == self.FilterRole:
            return node.filter
        if role == self.CountRole:
            return node.count
        if role == self.KindRole:
            return node.kind.value
        if role == self.OwnerRole:
            return owner
        return None

    # ------------------------------------------------------------------ internals

    def _node(self, index: _AnyIndex) -> _Node | None:
        if not index.isValid() or index.model() is not self:
            return None
        node = index.internalPointer()
        return node if isinstance(node, _Node) else None

    def _category_reason(self, name: str) -> FailureReason:
        found = self._catalog.category(name)
        return FailureReason(
            category=found.name, explanation=found.explanation, fix=found.fix, owner=found.owner
        )

    def _reason(self, app: Side, fingerprint: str) -> FailureReason:
        return self._catalog.classify(self._connection.app(app).kind, fingerprint)

    def _build(self, source: Summary) -> list[_Node]:
        by_app: dict[Side, dict[str, list[FailureGroup]]] = {}
        for group in source.failures:
            by_app.setdefault(group.app, {}).setdefault(group.category, []).append(group)

        def total(groups: list[FailureGroup]) -> int:
            return sum(group.count for group in groups)

        roots: list[_Node] = []
        apps = sorted(
            by_app.items(),
            key=lambda item: (-sum(total(g) for g in item[1].values()), item[0].value),
        )
        for app, categories in apps:
            app_node = _Node(
                kind=NodeKind.APP,
                text=source.connection.app(app).name,
                count=sum(total(groups) for groups in categories.values()),
                filter=ContactFilter(status=Status.FAILING, failure_app=app),
                reason=None,
                parent=None,
                row=len(roots),
            )
            roots.append(app_node)
            for category, groups in sorted(categories.items(), key=lambda i: (-total(i[1]), i[0])):
                groups = sorted(groups, key=lambda g: (-g.count, g.fingerprint))
                category_node = _Node(
                    kind=NodeKind.CATEGORY,
                    text=category,
                    count=total(groups),
                    filter=ContactFilter(
                        status=Status.FAILING,
                        failure_app=app,
                        category_fingerprints=tuple(g.fingerprint for g in groups),
                    ),
                    reason=self._category_reason(category),
                    parent=app_node,
                    row=len(app_node.children),
                )
                app_node.children.append(category_node)
                for group in groups:
                    category_node.children.append(
                        _Node(
                            kind=NodeKind.FINGERPRINT,
                            text=group.fingerprint,
                            count=group.count,
                            filter=ContactFilter(
                                status=Status.FAILING,
                                failure_app=app,
                                category_fingerprints=(group.fingerprint,),
                            ),
                            reason=self._reason(app, group.fingerprint),
                            parent=category_node,
                            row=len(category_node.children),
                        )
                    )
        return roots
