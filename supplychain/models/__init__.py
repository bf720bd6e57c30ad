"""All tables. Importing this package registers every table on `SQLModel.metadata` (Alembic's target)."""

from supplychain.models.approvals import ApprovalDelegation, ApprovalRequest, ApprovalStatus
from supplychain.models.auth import LoginAttempt, WebSession
from supplychain.models.catalog import PriceListEntry, Sku
from supplychain.models.events import DocumentEvent, Notification
from supplychain.models.inspection import Inspection, InspectionSeverity, InspectionVerdict
from supplychain.models.org import Location, LocationKind, Organisation, OrgKind, Region
from supplychain.models.purchasing import (
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    RequestSubmission,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from supplychain.models.quality import CertificateType, QualityCertificate
from supplychain.models.sequences import DocumentSequence
from supplychain.models.stock import MovementType, StockBalance, StockLedgerEntry
from supplychain.models.users import Role, User, UserRole

__all__ = [
    "ApprovalDelegation",
    "ApprovalRequest",
    "ApprovalStatus",
    "CertificateType",
    "DocumentEvent",
    "DocumentSequence",
    "Inspection",
    "InspectionSeverity",
    "InspectionVerdict",
    "Location",
    "LocationKind",
    "LoginAttempt",
    "MovementType",
    "Notification",
    "OrgKind",
    "Organisation",
    "POLineStatus",
    "POStatus",
    "PriceListEntry",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "QualityCertificate",
    "Region",
    "RequestSubmission",
    "Role",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "Sku",
    "StockBalance",
    "StockLedgerEntry",
    "User",
    "UserRole",
    "WebSession",
]
