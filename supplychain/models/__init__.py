"""All tables. Importing this package registers every table on `SQLModel.metadata` (Alembic's target)."""

from supplychain.models.approvals import ApprovalDelegation, ApprovalRequest, ApprovalStatus
from supplychain.models.auth import LoginAttempt, WebSession
from supplychain.models.catalog import PriceListEntry, Sku
from supplychain.models.events import DocumentEvent, Notification
from supplychain.models.org import Location, LocationKind, Organisation, OrgKind, Region
from supplychain.models.purchasing import (
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from supplychain.models.sequences import DocumentSequence
from supplychain.models.stock import MovementType, StockBalance, StockLedgerEntry
from supplychain.models.users import Role, User, UserRole

__all__ = [
    "ApprovalDelegation",
    "ApprovalRequest",
    "ApprovalStatus",
    "DocumentSequence",
    "POLineStatus",
    "POStatus",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "DocumentEvent",
    "Location",
    "LocationKind",
    "LoginAttempt",
    "MovementType",
    "Notification",
    "OrgKind",
    "Organisation",
    "PriceListEntry",
    "Region",
    "Role",
    "Sku",
    "StockBalance",
    "StockLedgerEntry",
    "User",
    "UserRole",
    "WebSession",
]
