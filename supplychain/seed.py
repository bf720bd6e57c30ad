"""Demo data: a small retail chain with its suppliers and distributors, and one login per role.

`seed_demo(session)` is idempotent: every row is looked up by its code (or e-mail, or natural key)
before it is inserted, and opening stock is posted through the stock service with fixed idempotency
keys, so running it again changes nothing and returns the same logins. It commits.

The chain: HQ (总部) with an East (华东) and a South (华南) region, one central warehouse, one regional
warehouse per region and three stores per region; two distributors with one store each; three
suppliers; about forty everyday SKUs, each on one or two suppliers' price lists. Two of them are
inspected on receipt (ISO 2859-1): infant formula, batch tracked and needing a certificate of analysis,
and a children's sunscreen; their settings are written when the SKU is created, so an admin's later
changes survive a second seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select
from sqlmodel import Session, SQLModel

from supplychain import accounts
from supplychain.models import (
    CertificateType,
    Location,
    LocationKind,
    MovementType,
    Organisation,
    OrgKind,
    PriceListEntry,
    Region,
    Role,
    Sku,
    User,
)
from supplychain.models.catalog import InspectionMode
from supplychain.rules.money import PRICE_PLACES, round_half_up
from supplychain.rules.stock import StockDelta
from supplychain.security import hash_password
from supplychain.settings import settings
from supplychain.stock import post_movement

T = TypeVar("T", bound=SQLModel)


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    password: str
    organisation: str  # the organisation's name, as shown on the login banner


HQ_CODE = "HQ"

# code, name, where its goods are handled (latitude, longitude: Hangzhou, Guangzhou), for the
# transfer planner's cost per unit between regions.
REGIONS = [
    ("EAST", "华东", Decimal("30.274084"), Decimal("120.155070")),
    ("SOUTH", "华南", Decimal("23.129110"), Decimal("113.264385")),
]

# code, name, kind, region code, address
HQ_LOCATIONS = [
    ("CW-SH", "上海嘉定中央仓", LocationKind.CENTRAL_WAREHOUSE, "EAST", "上海市嘉定区马陆镇宝安公路 2999 号"),
    (
        "RW-HZ",
        "华东区域仓（杭州）",
        LocationKind.REGIONAL_WAREHOUSE,
        "EAST",
        "浙江省杭州市余杭区仓前街道 88 号",
    ),
    (
        "RW-GZ",
        "华南区域仓（广州）",
        LocationKind.REGIONAL_WAREHOUSE,
        "SOUTH",
        "广东省广州市白云区太和镇物流园 6 号",
    ),
    ("ST-SH01", "上海徐汇店", LocationKind.STORE, "EAST", "上海市徐汇区漕溪北路 398 号"),
    ("ST-HZ01", "杭州西湖店", LocationKind.STORE, "EAST", "浙江省杭州市西湖区文三路 259 号"),
    ("ST-NJ01", "南京新街口店", LocationKind.STORE, "EAST", "江苏省南京市秦淮区中山南路 49 号"),
    ("ST-GZ01", "广州天河店", LocationKind.STORE, "SOUTH", "广东省广州市天河区天河路 208 号"),
    ("ST-SZ01", "深圳南山店", LocationKind.STORE, "SOUTH", "广东省深圳市南山区南海大道 2163 号"),
    ("ST-FS01", "佛山禅城店", LocationKind.STORE, "SOUTH", "广东省佛山市禅城区季华五路 18 号"),
]

# organisation code, name, its store (code, name, region code, address)
DISTRIBUTORS = [
    (
        "DIST-SZ",
        "苏州惠邻商贸有限公司",
        ("DS-SZ01", "惠邻便利（苏州园区店）", "EAST", "江苏省苏州市工业园区星海街 9 号"),
    ),
    (
        "DIST-DG",
        "东莞粤通供应链有限公司",
        ("DS-DG01", "粤通优选（东莞南城店）", "SOUTH", "广东省东莞市南城区鸿福路 106 号"),
    ),
]

SUPPLIERS = [
    ("SUP-HZLY", "杭州绿源食品有限公司"),
    ("SUP-GDYH", "广东粤海日化有限公司"),
    ("SUP-SHFH", "上海丰禾粮油贸易有限公司"),
]

# code, name, name_en, unit, category, unit price (net, CNY), VAT rate, suppliers (first is main)
SKUS: list[tuple[str, str, str, str, str, str, str, tuple[str, ...]]] = [
    (
        "BEV-001",
        "天然饮用水 550ml",
        "Natural drinking water 550 ml",
        "bottle",
        "beverages",
        "1.0500",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "BEV-002",
        "天然饮用水 1.5L",
        "Natural drinking water 1.5 L",
        "bottle",
        "beverages",
        "2.2000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "BEV-003",
        "无糖乌龙茶 500ml",
        "Sugar-free oolong tea 500 ml",
        "bottle",
        "beverages",
        "2.9500",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "BEV-004",
        "冰红茶 500ml",
        "Iced black tea 500 ml",
        "bottle",
        "beverages",
        "2.1000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "BEV-005",
        "橙汁饮料 1L",
        "Orange juice drink 1 L",
        "bottle",
        "beverages",
        "6.8000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "BEV-006",
        "苏打气泡水 330ml",
        "Sparkling soda water 330 ml",
        "can",
        "beverages",
        "2.4000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "BEV-007",
        "龙井绿茶 250g",
        "Longjing green tea 250 g",
        "box",
        "beverages",
        "58.0000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "DAI-001",
        "纯牛奶 250ml×12",
        "Whole milk 250 ml x 12",
        "case",
        "dairy",
        "36.5000",
        "0.09",
        ("SUP-HZLY",),
    ),
    ("DAI-002", "原味酸奶 200g", "Plain yoghurt 200 g", "cup", "dairy", "3.6000", "0.13", ("SUP-HZLY",)),
    ("DAI-003", "鲜牛奶 950ml", "Fresh milk 950 ml", "bottle", "dairy", "11.8000", "0.09", ("SUP-HZLY",)),
    (
        "GRO-001",
        "东北大米 5kg",
        "Northeast rice 5 kg",
        "bag",
        "grain_oil",
        "32.0000",
        "0.09",
        ("SUP-SHFH", "SUP-HZLY"),
    ),
    (
        "GRO-002",
        "泰国香米 5kg",
        "Thai jasmine rice 5 kg",
        "bag",
        "grain_oil",
        "45.5000",
        "0.09",
        ("SUP-SHFH",),
    ),
    (
        "GRO-003",
        "花生油 5L",
        "Peanut oil 5 L",
        "bottle",
        "grain_oil",
        "98.0000",
        "0.09",
        ("SUP-SHFH", "SUP-HZLY"),
    ),
    ("GRO-004", "菜籽油 5L", "Rapeseed oil 5 L", "bottle", "grain_oil", "62.0000", "0.09", ("SUP-SHFH",)),
    ("GRO-005", "高筋面粉 2.5kg", "Bread flour 2.5 kg", "bag", "grain_oil", "15.8000", "0.09", ("SUP-SHFH",)),
    ("GRO-006", "挂面 1kg", "Dried noodles 1 kg", "pack", "grain_oil", "7.2000", "0.13", ("SUP-SHFH",)),
    ("GRO-007", "小米 1kg", "Millet 1 kg", "bag", "grain_oil", "9.9000", "0.09", ("SUP-SHFH",)),
    ("GRO-008", "土鸡蛋 30枚", "Free-range eggs, 30", "box", "fresh", "26.0000", "0.09", ("SUP-SHFH",)),
    (
        "CON-001",
        "生抽酱油 500ml",
        "Light soy sauce 500 ml",
        "bottle",
        "condiments",
        "6.5000",
        "0.13",
        ("SUP-SHFH",),
    ),
    (
        "CON-002",
        "老抽酱油 500ml",
        "Dark soy sauce 500 ml",
        "bottle",
        "condiments",
        "7.1000",
        "0.13",
        ("SUP-SHFH",),
    ),
    (
        "CON-003",
        "镇江香醋 500ml",
        "Zhenjiang black vinegar 500 ml",
        "bottle",
        "condiments",
        "5.4000",
        "0.13",
        ("SUP-SHFH",),
    ),
    ("CON-004", "精制食盐 400g", "Refined salt 400 g", "bag", "condiments", "1.8000", "0.13", ("SUP-SHFH",)),
    ("CON-005", "白砂糖 1kg", "White sugar 1 kg", "bag", "condiments", "7.6000", "0.13", ("SUP-SHFH",)),
    (
        "CON-006",
        "蚝油 700g",
        "Oyster sauce 700 g",
        "bottle",
        "condiments",
        "9.3000",
        "0.13",
        ("SUP-SHFH", "SUP-HZLY"),
    ),
    (
        "SNK-001",
        "原味薯片 104g",
        "Original potato crisps 104 g",
        "bag",
        "snacks",
        "5.2000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "SNK-002",
        "夹心饼干 390g",
        "Sandwich biscuits 390 g",
        "pack",
        "snacks",
        "8.9000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "SNK-003",
        "每日坚果 25g×30",
        "Daily mixed nuts 25 g x 30",
        "box",
        "snacks",
        "79.0000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "SNK-004",
        "方便面 五连包",
        "Instant noodles, 5-pack",
        "pack",
        "snacks",
        "10.5000",
        "0.13",
        ("SUP-HZLY", "SUP-SHFH"),
    ),
    ("SNK-005", "黑巧克力 100g", "Dark chocolate 100 g", "bar", "snacks", "9.8000", "0.13", ("SUP-HZLY",)),
    (
        "PER-001",
        "洗发水 750ml",
        "Shampoo 750 ml",
        "bottle",
        "personal_care",
        "29.0000",
        "0.13",
        ("SUP-GDYH",),
    ),
    ("PER-002", "沐浴露 1L", "Body wash 1 L", "bottle", "personal_care", "26.5000", "0.13", ("SUP-GDYH",)),
    ("PER-003", "牙膏 120g", "Toothpaste 120 g", "tube", "personal_care", "8.2000", "0.13", ("SUP-GDYH",)),
    (
        "PER-004",
        "软毛牙刷 两支装",
        "Soft toothbrush, 2-pack",
        "pack",
        "personal_care",
        "7.5000",
        "0.13",
        ("SUP-GDYH",),
    ),
    (
        "PER-005",
        "洗手液 500ml",
        "Hand soap 500 ml",
        "bottle",
        "personal_care",
        "11.9000",
        "0.13",
        ("SUP-GDYH",),
    ),
    ("HOU-001", "洗衣液 3kg", "Laundry liquid 3 kg", "bottle", "household", "32.8000", "0.13", ("SUP-GDYH",)),
    (
        "HOU-002",
        "洗洁精 1.5kg",
        "Dishwashing liquid 1.5 kg",
        "bottle",
        "household",
        "9.6000",
        "0.13",
        ("SUP-GDYH",),
    ),
    (
        "HOU-003",
        "抽纸 3层100抽×6包",
        "Facial tissues, 3-ply 100 x 6",
        "pack",
        "household",
        "12.4000",
        "0.13",
        ("SUP-GDYH",),
    ),
    (
        "HOU-004",
        "卷纸 4层×10卷",
        "Toilet paper, 4-ply x 10 rolls",
        "pack",
        "household",
        "18.9000",
        "0.13",
        ("SUP-GDYH", "SUP-HZLY"),
    ),
    (
        "HOU-005",
        "垃圾袋 中号 100只",
        "Bin bags, medium, 100",
        "roll",
        "household",
        "6.3000",
        "0.13",
        ("SUP-GDYH",),
    ),
    ("HOU-006", "厨房湿巾 80片", "Kitchen wipes, 80", "pack", "household", "7.9000", "0.13", ("SUP-GDYH",)),
    (
        "HOU-007",
        "84消毒液 1.2kg",
        "Disinfectant bleach 1.2 kg",
        "bottle",
        "household",
        "8.4000",
        "0.13",
        ("SUP-GDYH",),
    ),
    ("HOU-008", "电池 5号 8粒", "AA batteries, 8", "card", "household", "16.0000", "0.13", ("SUP-GDYH",)),
    (
        "DAI-004",
        "婴幼儿配方奶粉 800g",
        "Infant formula 800 g",
        "can",
        "dairy",
        "168.0000",
        "0.13",
        ("SUP-HZLY",),
    ),
    (
        "PER-006",
        "儿童防晒霜 50ml",
        "Children's sunscreen 50 ml",
        "tube",
        "personal_care",
        "45.0000",
        "0.13",
        ("SUP-GDYH",),
    ),
]

# Receiving inspection of the SKUs that have it (the rest are never inspected): set on creation only.
INSPECTED_SKUS: dict[str, dict[str, object]] = {
    "DAI-004": {
        "inspection_mode": InspectionMode.ALWAYS,
        "inspection_level": "II",
        "aql_critical": "0",
        "aql_major": "1.0",
        "aql_minor": "2.5",
        "batch_tracked": True,
        "required_certificates": CertificateType.COA.value,
    },
    "PER-006": {
        "inspection_mode": InspectionMode.ALWAYS,
        "inspection_level": "II",
        "aql_critical": "0",
        "aql_major": "2.5",
        "aql_minor": "4.0",
    },
}

# The price list terms each supplier offers (lead time days, MOQ, pack size); a second supplier is
# a little dearer and slower, so the cheaper main supplier is the usual choice.
SUPPLIER_TERMS = {"SUP-HZLY": (3, 10, 12), "SUP-GDYH": (5, 20, 6), "SUP-SHFH": (4, 10, 4)}
SECOND_SUPPLIER_MARKUP = Decimal("1.06")

# role, e-mail local part, password, full name, organisation code, location code, approval limit, locale
USERS: list[tuple[Role, str, str, str, str, str | None, str | None, str]] = [
    (Role.ADMIN, "admin", "demo-admin-2026", "系统管理员", HQ_CODE, None, None, "zh_CN"),
    (Role.BUYER, "buyer", "demo-buyer-2026", "王采购", HQ_CODE, None, None, "zh_CN"),
    (Role.APPROVER, "approver", "demo-approver-2026", "李经理", HQ_CODE, None, "50000.00", "zh_CN"),
    (Role.APPROVER, "director", "demo-director-2026", "赵总监", HQ_CODE, None, "500000.00", "zh_CN"),
    # The warehouse login works where the demo store's orders arrive: the East regional warehouse.
    (Role.WAREHOUSE, "warehouse", "demo-warehouse-2026", "陈仓管", HQ_CODE, "RW-HZ", None, "zh_CN"),
    (Role.INSPECTOR, "inspector", "demo-inspector-2026", "刘质检", HQ_CODE, None, None, "zh_CN"),
    # Decides what happens to a rejected lot; approves reduced inspection on the quality scorecard.
    (Role.QUALITY_APPROVER, "quality", "demo-quality-2026", "黄品控", HQ_CODE, None, None, "zh_CN"),
    (Role.FINANCE, "finance", "demo-finance-2026", "孙会计", HQ_CODE, None, None, "zh_CN"),
    (Role.STORE, "store", "demo-store-2026", "周店长", HQ_CODE, "ST-SH01", None, "zh_CN"),
    (Role.STORE, "distributor", "demo-distributor-2026", "吴老板", "DIST-SZ", "DS-SZ01", None, "zh_CN"),
    (Role.SUPPLIER, "supplier", "demo-supplier-2026", "郑销售", "SUP-HZLY", None, None, "zh_CN"),
    (Role.SUPPLIER, "supplier2", "demo-supplier2-2026", "Grace Huang", "SUP-GDYH", None, None, "en"),
    (Role.SUPPLIER, "supplier3", "demo-supplier3-2026", "钱经理", "SUP-SHFH", None, None, "zh_CN"),
]
EMAIL_DOMAIN = accounts.DEMO_EMAIL_DOMAIN


class DemoDataRefused(RuntimeError):
    """Demo data asked for on a production installation; `str()` says what to do instead."""


def refuse_demo_data_in_production() -> None:
    """Raise DemoDataRefused with ENVIRONMENT=production: the demo users' passwords are public."""
    if settings.ENVIRONMENT == "production":
        raise DemoDataRefused(
            "Demo data is never loaded with ENVIRONMENT=production: its users' passwords are public. "
            "Create the first administrator with `portal create-admin` instead."
        )


def seed_demo(session: Session) -> list[DemoLogin]:
    """Insert whatever demo data is missing, commit, and return one login per demo user.
    DemoDataRefused in production, before anything is written."""
    refuse_demo_data_in_production()
    hq = _organisation(session, HQ_CODE, "总部", OrgKind.HQ)
    regions = {code: _region(session, code, name, lat, lon) for code, name, lat, lon in REGIONS}
    orgs = {HQ_CODE: hq}
    locations: dict[str, Location] = {}
    for code, name, kind, region, address in HQ_LOCATIONS:
        locations[code] = _location(session, code, name, kind, hq, regions[region], address)
    for org_code, org_name, (code, name, region, address) in DISTRIBUTORS:
        orgs[org_code] = _organisation(session, org_code, org_name, OrgKind.DISTRIBUTOR)
        locations[code] = _location(
            session, code, name, LocationKind.STORE, orgs[org_code], regions[region], address
        )
    for org_code, org_name in SUPPLIERS:
        orgs[org_code] = _organisation(session, org_code, org_name, OrgKind.SUPPLIER)

    skus = [_sku_with_prices(session, orgs, spec) for spec in SKUS]
    # Plain values: posting a movement expires the session's objects, and reloading them for each
    # of the ~400 postings would double the work.
    stock_places = [(loc.id, loc.code, loc.kind) for loc in locations.values()]
    stock_skus = [(sku.id, sku.code) for sku in skus]
    for loc_index, (location_id, location_code, kind) in enumerate(stock_places):
        for sku_index, (sku_id, sku_code) in enumerate(stock_skus):
            assert location_id is not None and sku_id is not None
            quantity = _opening_quantity(kind, loc_index, sku_index)
            if quantity:
                post_movement(
                    session,
                    idempotency_key=f"seed:opening:{location_code}:{sku_code}",
                    location_id=location_id,
                    sku_id=sku_id,
                    movement_type=MovementType.OPENING,
                    delta=StockDelta(on_hand=quantity),
                    source_document_type="seed",
                    source_document_id="demo",
                    note="demo opening stock",
                )

    logins = [_user(session, orgs, locations, spec) for spec in USERS]
    session.commit()
    return logins


def _find(session: Session, model: type[T], **where: object) -> T | None:
    statement = select(model).filter_by(**where)
    return session.execute(statement).scalars().first()


def _add(session: Session, row: T) -> T:
    session.add(row)
    session.flush()
    return row


def _organisation(session: Session, code: str, name: str, kind: OrgKind) -> Organisation:
    return _find(session, Organisation, code=code) or _add(
        session, Organisation(code=code, name=name, kind=kind)
    )


def _region(session: Session, code: str, name: str, latitude: Decimal, longitude: Decimal) -> Region:
    region = _find(session, Region, code=code) or _add(session, Region(code=code, name=name))
    if region.latitude is None and region.longitude is None:  # a region seeded before coordinates
        region.latitude, region.longitude = latitude, longitude
        session.add(region)
        session.flush()
    return region


def _location(
    session: Session,
    code: str,
    name: str,
    kind: LocationKind,
    organisation: Organisation,
    region: Region,
    address: str,
) -> Location:
    assert organisation.id is not None
    return _find(session, Location, code=code) or _add(
        session,
        Location(
            code=code,
            name=name,
            kind=kind,
            organisation_id=organisation.id,
            region_id=region.id,
            address=address,
        ),
    )


def _sku_with_prices(
    session: Session,
    orgs: dict[str, Organisation],
    spec: tuple[str, str, str, str, str, str, str, tuple[str, ...]],
) -> Sku:
    code, name, name_en, unit, category, price, tax_rate, suppliers = spec
    sku = _find(session, Sku, code=code) or _add(
        session,
        Sku.model_validate(
            {"code": code, "name": name, "name_en": name_en, "unit": unit, "category": category}
            | INSPECTED_SKUS.get(code, {})
        ),
    )
    for rank, supplier_code in enumerate(suppliers):
        supplier = orgs[supplier_code]
        if (
            _find(session, PriceListEntry, supplier_id=supplier.id, sku_id=sku.id, valid_from=None)
            is not None
        ):
            continue
        lead_time, moq, pack_size = SUPPLIER_TERMS[supplier_code]
        unit_price = Decimal(price) * (SECOND_SUPPLIER_MARKUP if rank else 1)
        assert supplier.id is not None and sku.id is not None
        _add(
            session,
            PriceListEntry(
                supplier_id=supplier.id,
                sku_id=sku.id,
                unit_price=round_half_up(unit_price, PRICE_PLACES),
                tax_rate=Decimal(tax_rate),
                lead_time_days=lead_time + 2 * rank,
                moq=moq,
                pack_size=pack_size,
            ),
        )
    return sku


def _opening_quantity(kind: LocationKind, loc_index: int, sku_index: int) -> int:
    """A fixed, varied quantity: warehouses hold plenty, stores a little, and some store shelves are
    empty so the demo has something to replenish."""
    spread = (loc_index * 7 + sku_index * 13) % 10
    if kind == LocationKind.CENTRAL_WAREHOUSE:
        return 600 + 60 * spread
    if kind == LocationKind.REGIONAL_WAREHOUSE:
        return 200 + 30 * spread
    return 0 if spread < 2 else 6 + 4 * spread


def _user(
    session: Session,
    orgs: dict[str, Organisation],
    locations: dict[str, Location],
    spec: tuple[Role, str, str, str, str, str | None, str | None, str],
) -> DemoLogin:
    role, local_part, password, full_name, org_code, location_code, limit, locale = spec
    email = f"{local_part}@{EMAIL_DOMAIN}"
    organisation = orgs[org_code]
    user = _find(session, User, email=email)
    if user is None:
        assert organisation.id is not None
        user = _add(
            session,
            User(
                email=email,
                full_name=full_name,
                organisation_id=organisation.id,
                location_id=locations[location_code].id if location_code else None,
                approval_limit=Decimal(limit) if limit else None,
                locale=locale,
                password_hash=hash_password(password),  # slow on purpose: only for new users
            ),
        )
    assert user.id is not None
    accounts.grant_roles(session, user=user, roles={role})
    return DemoLogin(role=role, email=email, password=password, organisation=organisation.name)
