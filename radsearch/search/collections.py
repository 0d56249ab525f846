"""Collections: named sets of cases and searches a user keeps (a teaching file, a tumour-board list, a
curation set), stored in the library's catalog, recorded in its audit log, and usable as examples.

Every front end (UI, REST, CLI) goes through this, so a collection saved in the UI is the one the API lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..storage import CollectionItemRecord, CollectionRecord
from .audit import current_user
from .engine import SearchEngine, is_text
from .hits import Hit

SEARCH_KEYS = ("query", "where", "by", "k", "results")


class Collections:
    """The collections of one library, on behalf of the current user (search.audit.current_user)."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self.workspace = engine.store.workspace

    def list(self) -> list[CollectionRecord]:
        """Every collection with its item count, by name."""
        return self.workspace.collections()

    def create(self, name: str, note: str = "") -> CollectionRecord:
        """A new, empty collection (an existing one of that name is returned unchanged)."""
        made = self.workspace.create(name, current_user(), note)
        self._audit("collection_create", made.name, [])
        return made

    def add(self, name: str, image_ids: Sequence[int] | int, note: str = "") -> list[int]:
        """Save library images to a collection (made if new); returns the ids that were not in it yet."""
        ids = [int(image_ids)] if isinstance(image_ids, int) else [int(i) for i in image_ids]
        added = self.workspace.add_images(name, ids, current_user(), note)
        self._audit("collection_add", name, added)
        return added

    def save_search(self, name: str, query: str | int, where: dict[str, Any] | None = None, by: str | None = None,
                    k: int = 10, results: str = "images", note: str = "") -> None:
        """Save a search to replay later: a text, or a library image's id ("more like this"). An uploaded
        image cannot be replayed from the catalog: save the case (`add`) instead."""
        if not (isinstance(query, int) or (isinstance(query, str) and is_text(query) and query.strip())):
            raise ValueError("a saved search is a text or a library image id; save an uploaded image's "
                             "results as cases instead")
        search = {"query": query, "where": where or None, "by": by, "k": int(k), "results": results}
        self.workspace.add_search(name, search, current_user(), note)
        self._audit("collection_add_search", name, [], where)

    def items(self, name: str) -> list[CollectionItemRecord]:
        """A collection's cases and searches, in the order they were added."""
        return self.workspace.items(name)

    def image_ids(self, name: str) -> list[int]:
        """The collection's cases that are still in the library, in the order they were added."""
        ids = [item.image_id for item in self.items(name) if item.image_id is not None]
        present = set(self.engine.store.catalog.get(ids, columns=(), labels=False, report=False)) if ids else set()
        return [i for i in ids if i in present]

    def remove(self, name: str, item_id: int) -> bool:
        """Take one item out of a collection; False when it was not there."""
        gone = self.workspace.remove_item(name, item_id)
        if gone:
            self._audit("collection_remove", name, [])
        return gone

    def delete(self, name: str) -> int:
        """Delete a collection and its items; returns how many items it held."""
        held = self.workspace.delete(name)
        self._audit("collection_delete", name, [])
        return held

    def more_like(self, name: str, k: int = 10, where: dict[str, Any] | None = None, avoid: str | None = None,
                  include_own: bool = False) -> list[Hit]:
        """Images like the collection's cases (positive examples), and unlike those of `avoid` (negative)."""
        positive = self.image_ids(name)
        if not positive:
            raise ValueError(f"collection {name!r} holds no case of this library to search with")
        negative = self.image_ids(avoid) if avoid else []
        return self.engine.examples(positive, negative, k=k, where=where, include_own=include_own)

    def replay(self, name: str, item_id: int) -> Any:
        """Run a saved search of the collection again, as it was saved."""
        item = next((i for i in self.items(name) if i.id == int(item_id)), None)
        if item is None or item.search is None:
            raise KeyError(f"collection {name!r} has no saved search {item_id}")
        search = item.search
        return self.engine(search["query"], int(search.get("k") or 10), search.get("where"),
                           results=search.get("results") or "images", by=search.get("by"))

    def _audit(self, action: str, name: str, ids: Sequence[int], where: dict[str, Any] | None = None) -> None:
        self.engine.store.catalog.record_search(current_user(), action, f"collection: {name}", where, list(ids))
