"""Document numbers: one counter per document type and year (PO-2026-000123)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class DocumentSequence(SQLModel, table=True):
    __tablename__ = "document_sequence"

    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last_value: int = 0
