"""The company in the header of every PDF (`supplychain.pdf_documents.Party`): the HQ organisation,
with the address and tax id from settings (COMPANY_ADDRESS, COMPANY_TAX_ID)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from supplychain.models import Organisation, OrgKind
from supplychain.pdf_documents import Party
from supplychain.settings import settings


def company_party(session: Session) -> Party:
    """The retailer's HQ as the issuing company (the first HQ organisation when there are several)."""
    name = session.execute(
        select(col(Organisation.name))
        .where(col(Organisation.kind) == OrgKind.HQ)
        .order_by(col(Organisation.is_active).desc(), col(Organisation.id))
        .limit(1)
    ).scalar_one_or_none()
    return Party(name=name or "", address=settings.COMPANY_ADDRESS, tax_id=settings.COMPANY_TAX_ID)
