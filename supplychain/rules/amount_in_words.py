"""An amount in CNY written in Chinese capitals (大写金额), for statements, remittance advice and vouchers.

Written by the People's Bank of China's rules for financial documents (《正确填写票据和结算凭证的基本规定》):

- Digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟 within a section of four digits, sections 万 and 亿,
  then 元角分. Ten is 壹拾 (never a bare 拾), as the rule's own examples write it (壹拾万).
- 整 after 元 when nothing smaller follows, and after 角 when no 分 follows (the rule allows either
  there; the issue asks for 整): 0.50 = 伍角整. Never 整 after 分.
- One 零 for a run of zeros inside the number: 6,007.14 = 陆仟零柒元壹角肆分, 10,005.00 = 壹万零伍元整.
  A zero run that only ends a section (壹拾万 in 107,000) writes no 零 when the next section starts
  with its 仟 digit: 107,000.53 = 壹拾万柒仟元零伍角叁分, the first of the two forms the rule allows.
- 零 between 元 and 角 when the 元 digit is zero but higher digits exist (1,680.32 =
  壹仟陆佰捌拾元零叁角贰分, again the first of the two allowed forms), and always when 角 is zero but
  分 is not (16,409.02 = 壹万陆仟肆佰零玖元零贰分).
- Under one yuan no 元 is written: 0.05 = 伍分, 0.50 = 伍角整; nothing at all is 零元整.
- "人民币" leads, because the rule asks for it wherever the form does not print it; pass
  `with_currency=False` for a form that prints "人民币（大写）" itself.
- A negative amount (a statement that leaves the supplier owing us) is written with 负 before the
  capitals, after 人民币: 人民币负壹佰元整. The rule has no negative amounts; 负 is the usual word.

Refused with ValueError: more than 2 decimal places (never rounded here: round first with
`money.round_money`), and 1 万亿 (10^12) or more, which the 亿 section cannot hold.
"""

from __future__ import annotations

from decimal import Decimal

from supplychain.rules.money import MONEY_PLACES, to_units

DIGITS = "零壹贰叁肆伍陆柒捌玖"
IN_SECTION = ("", "拾", "佰", "仟")  # units within a section of four digits, lowest first
SECTIONS = ("", "万", "亿")  # lowest first
CURRENCY = "人民币"
NEGATIVE = "负"
LIMIT = 10**12  # 1 万亿 yuan


def rmb_in_capitals(amount: Decimal, *, with_currency: bool = True) -> str:
    """`amount` (CNY, at most 2 decimal places, |amount| < 1 万亿) in Chinese capitals.

    >>> rmb_in_capitals(Decimal("1680.32"))
    '人民币壹仟陆佰捌拾元零叁角贰分'
    """
    fen = to_units(amount, MONEY_PLACES)  # ValueError for 3+ places or not a finite number
    yuan, cents = divmod(abs(fen), 100)
    if yuan >= LIMIT:
        raise ValueError(f"{amount} is 1 万亿 or more: too large to write in capitals")
    jiao, fen_digit = divmod(cents, 10)

    words = _yuan_in_words(yuan)
    if yuan:
        words += "元"
    if jiao:
        if words and yuan % 10 == 0:
            words += "零"  # 壹仟陆佰捌拾元零叁角
        words += DIGITS[jiao] + "角"
    if fen_digit:
        if words and not jiao:
            words += "零"  # 叁佰贰拾伍元零肆分
        words += DIGITS[fen_digit] + "分"
    if not fen_digit:
        words = words + "整" if words else "零元整"

    sign = NEGATIVE if fen < 0 else ""
    return (CURRENCY if with_currency else "") + sign + words


def _yuan_in_words(yuan: int) -> str:
    """The whole yuan in capitals, without 元 ("" for 0)."""
    sections: list[int] = []
    while yuan:
        yuan, section = divmod(yuan, 10_000)
        sections.append(section)
    words = ""
    zeros_pending = False  # a zero has been passed since the last digit written
    for position in reversed(range(len(sections))):
        section = sections[position]
        if section == 0:
            zeros_pending = bool(words)
            continue
        section_words, leading_zero = _section_in_words(section)
        if words and (zeros_pending or leading_zero):
            words += "零"
        words += section_words + SECTIONS[position]
        zeros_pending = False
    return words


def _section_in_words(section: int) -> tuple[str, bool]:
    """A section of 1..9999 in capitals, and whether its 仟 digit is zero (a 零 may lead it)."""
    digits = [section // 10**place % 10 for place in range(4)]  # lowest first
    words = ""
    zero_run = False
    for place in reversed(range(4)):
        digit = digits[place]
        if digit == 0:
            zero_run = bool(words)
            continue
        if zero_run:
            words += "零"
            zero_run = False
        words += DIGITS[digit] + IN_SECTION[place]
    return words, digits[3] == 0
