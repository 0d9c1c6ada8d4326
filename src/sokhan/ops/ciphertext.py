"""Read and rewrite the raw ciphertext of every encrypted column, bypassing the field's decryption."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models
from django.db.models import ExpressionWrapper, F, TextField, Value

from sokhan.core.crypto import encrypted_fields

BATCH = 500


def field_label(model: type[models.Model], field: str) -> str:
    return f"{model._meta.label}.{field}"


def raw_values(model: type[models.Model], field: str) -> Iterator[tuple[Any, str]]:
    """(pk, stored ciphertext) for every non-empty value, in pk order, a batch at a time.

    The column is read through a plain ``TextField`` expression, so ``from_db_value`` never runs
    and the value is exactly what the database holds.
    """
    raw = ExpressionWrapper(F(field), output_field=TextField())
    base = model._base_manager.exclude(**{f"{field}__isnull": True}).exclude(**{field: ""})
    last: Any = None
    while True:
        qs = base.annotate(_raw=raw).order_by("pk")
        if last is not None:
            qs = qs.filter(pk__gt=last)
        batch = list(qs.values_list("pk", "_raw")[:BATCH])
        yield from batch
        if len(batch) < BATCH:
            return
        last = batch[-1][0]


def raw_update(model: type[models.Model], field: str, pk: Any, stored: str) -> None:
    """Write ``stored`` as is: a ``Value`` with a plain text output field skips encryption."""
    model._base_manager.filter(pk=pk).update(**{field: Value(stored, output_field=TextField())})


def all_encrypted_fields() -> list[tuple[type[models.Model], str]]:
    return [(m, f) for m, f in encrypted_fields() if m._meta.managed and not m._meta.proxy]
