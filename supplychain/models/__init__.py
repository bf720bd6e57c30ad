"""All tables. Importing this package registers every table on `SQLModel.metadata` (Alembic's target)."""

from supplychain.models.approvals import ApprovalDelegation, ApprovalRequest, ApprovalStatus
from supplychain.models.auth import LoginAttempt, WebSession
from supplychain.models.catalog import PriceListEntry, Sku
from supplychain.models.events import DocumentEvent, Notification
from supplychain.models.inspection import (
    Disposition,
    Inspection,
    InspectionPhoto,
    InspectionSeverity,
    InspectionStage,
    InspectionSwitching,
    InspectionVerdict,
    SwitchingSeverity,
)
from supplychain.models.org import Location, LocationKind, Organisation, OrgKind, Region
from supplychain.models.purchasing import (
    POLineStatus,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReceiptLot,
    RequestSubmission,
    Shipment,
    ShipmentLine,
    ShipmentLineBatch,
    ShipmentStatus,
)
from supplychain.models.quality import CertificateType, QualityCertificate
from supplychain.models.returns import (
    DebitNote,
    DebitNoteKind,
    DebitNoteStatus,
    ReturnStatus,
    ReturnToVendor,
)
from supplychain.models.sequences import DocumentSequence
from supplychain.models.stock import MovementType, StockBalance, StockLedgerEntry
from supplychain.models.users import Role, User, UserRole

__all__ = [
    "ApprovalDelegation",
    "ApprovalRequest",
    "ApprovalStatus",
    "CertificateType",
    "DebitNote",
    "DebitNoteKind",
    "DebitNoteStatus",
    "Disposition",
    "DocumentEvent",
    "DocumentSequence",
    "Inspection",
    "InspectionPhoto",
    "InspectionSeverity",
    "InspectionStage",
    "InspectionSwitching",
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
    "ReceiptLot",
    "Region",
    "RequestSubmission",
    "ReturnStatus",
    "ReturnToVendor",
    "Role",
    "Shipment",
    "ShipmentLine",
    "ShipmentLineBatch",
    "ShipmentStatus",
    "Sku",
    "StockBalance",
    "StockLedgerEntry",
    "SwitchingSeverity",
    "User",
    "UserRole",
    "WebSession",
]
