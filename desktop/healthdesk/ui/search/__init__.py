"""Search: find a contact by name, email or app record id, across every status.

`SearchResultsModel` runs the query off the GUI thread; `SearchBar` is the line edit and
its popup of results, which emits the chosen `ContactView`.
"""

from healthdesk.ui.search.search_bar import SearchBar
from healthdesk.ui.search.search_model import SearchResultsModel

__all__ = ["SearchBar", "SearchResultsModel"]
