"""What users keep beside the indexed archive: collections of cases and searches, and relevance marks.

Kept in the catalog's database (its own tables, migration 0006) so they travel with the library, are backed
up with it, and are seen by every front end (UI, REST, CLI, Python).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select

from .catalog import Catalog
from .rows import CollectionItemRecord, CollectionRecord, JudgementRecord
from .schema import Collection, CollectionItem, Image, Judgement, Study

NAME_LENGTH = 128


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Workspace:
    """Collections and relevance marks in one library's catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- collections -----------------------------------------------------------------------------
    def collections(self) -> list[CollectionRecord]:
        """Every collection with its item count, by name."""
        counted = (select(Collection, func.count(CollectionItem.id))
                   .outerjoin(CollectionItem, CollectionItem.collection_id == Collection.id)
                   .group_by(Collection.id).order_by(Collection.name))
        with self.catalog.session() as s:
            return [CollectionRecord(c.name, c.note, c.created, c.user, int(n)) for c, n in s.execute(counted)]

    def create(self, name: str, user: str, note: str = "") -> CollectionRecord:
        """A new, empty collection; an existing one of that name is returned as it is."""
        name = self._checked_name(name)
        with self.catalog.session() as s:
            found = s.scalar(select(Collection).where(Collection.name == name))
            if found is None:
                found = Collection(name=name, note=note, created=_now(), user=user)
                s.add(found)
                s.flush()
            return CollectionRecord(found.name, found.note, found.created, found.user,
                                    int(s.scalar(select(func.count(CollectionItem.id))
                                                 .where(CollectionItem.collection_id == found.id)) or 0))

    def add_images(self, name: str, image_ids: Sequence[int], user: str, note: str = "") -> list[int]:
        """Add cases to a collection (created if new); images already in it are left as they are.
        Returns the ids added. An id the catalog does not hold is refused by number."""
        wanted = list(dict.fromkeys(int(i) for i in image_ids))
        with self.catalog.session() as s:
            collection = self._collection(s, name, user, create=True)
            known = {row.id: row for row in s.execute(
                select(Image.id, Image.path, Study.study_key).join(Study, Image.study_id == Study.id)
                .where(Image.id.in_(wanted)))} if wanted else {}
            missing = [i for i in wanted if i not in known]
            if missing:
                raise KeyError(f"no image with id {', '.join(map(str, missing))} in this library")
            present = set(s.scalars(select(CollectionItem.image_id).where(
                CollectionItem.collection_id == collection.id, CollectionItem.image_id.in_(wanted))))
            added = [i for i in wanted if i not in present]
            at = _now()
            s.add_all([CollectionItem(collection_id=collection.id, image_id=i, path=known[i].path,
                                      study_key=known[i].study_key, note=note, added=at, user=user) for i in added])
        return added

    def add_search(self, name: str, search: dict[str, Any], user: str, note: str = "") -> None:
        """Keep a search (its query text or library image id, filters, grouping, count) in a collection."""
        if not search.get("query") and search.get("query") != 0:
            raise ValueError("a saved search needs its query")
        with self.catalog.session() as s:
            collection = self._collection(s, name, user, create=True)
            s.add(CollectionItem(collection_id=collection.id, search=json.dumps(search, sort_keys=True, default=str),
                                 note=note, added=_now(), user=user))

    def items(self, name: str) -> list[CollectionItemRecord]:
        """A collection's cases and searches, in the order they were added."""
        with self.catalog.session() as s:
            collection = self._collection(s, name)
            rows = s.scalars(select(CollectionItem).where(CollectionItem.collection_id == collection.id)
                             .order_by(CollectionItem.id))
            return [CollectionItemRecord(r.id, r.image_id, r.path, r.study_key,
                                         json.loads(r.search) if r.search else None, r.note, r.added, r.user)
                    for r in rows]

    def remove_item(self, name: str, item_id: int) -> bool:
        """Take one item out of a collection; False when it was not there."""
        with self.catalog.session() as s:
            collection = self._collection(s, name)
            gone = s.execute(delete(CollectionItem).where(CollectionItem.collection_id == collection.id,
                                                          CollectionItem.id == int(item_id)))
            return bool(gone.rowcount)

    def delete(self, name: str) -> int:
        """Delete a collection and its items; returns how many items it held."""
        with self.catalog.session() as s:
            collection = self._collection(s, name)
            gone = s.execute(delete(CollectionItem).where(CollectionItem.collection_id == collection.id)).rowcount
            s.delete(collection)
            return int(gone or 0)

    def _collection(self, s: Any, name: str, user: str = "", create: bool = False) -> Collection:  # noqa: ANN401
        name = self._checked_name(name)
        found = s.scalar(select(Collection).where(Collection.name == name))
        if found is None and create:
            found = Collection(name=name, note="", created=_now(), user=user)
            s.add(found)
            s.flush()
        if found is None:
            known = ", ".join(s.scalars(select(Collection.name).order_by(Collection.name)).all()[:10]) or "none yet"
            raise KeyError(f"no collection named {name!r} in this library (collections: {known})")
        return found

    @staticmethod
    def _checked_name(name: str) -> str:
        name = (name or "").strip()
        if not name or len(name) > NAME_LENGTH:
            raise ValueError(f"a collection needs a name of 1 to {NAME_LENGTH} characters")
        return name

    # -- relevance marks ---------------------------------------------------------------------------
    def judge(self, query: str, image_id: int, relevant: bool | None, user: str) -> None:
        """Mark a result of a query relevant (True) or not (False) for this user; None clears the mark."""
        with self.catalog.session() as s:
            s.execute(delete(Judgement).where(Judgement.query == query[:512], Judgement.image_id == int(image_id),
                                              Judgement.user == user))
            if relevant is not None:
                s.add(Judgement(query=query[:512], image_id=int(image_id), relevant=bool(relevant), user=user,
                                at=_now()))

    def judgements(self, query: str | None = None, user: str | None = None) -> list[JudgementRecord]:
        """The marks on one query's results (every query's when None), optionally one user's, oldest first."""
        selected = select(Judgement).order_by(Judgement.id)
        if query is not None:
            selected = selected.where(Judgement.query == query[:512])
        if user is not None:
            selected = selected.where(Judgement.user == user)
        with self.catalog.session() as s:
            return [JudgementRecord(j.query, j.image_id, j.relevant, j.user, j.at) for j in s.scalars(selected)]
