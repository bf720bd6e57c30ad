"""supplychain.rules.amount_in_words: 大写金额 by 《正确填写票据和结算凭证的基本规定》.

First the examples published with the rule (where it allows two forms, the one we write is the
first it gives), then the issue's examples, then a table of our own for each 零 and 整 case.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplychain.rules.amount_in_words import rmb_in_capitals


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        # (一) a 0 in the middle writes 零. The rule writes 伍角 without 整 ("may omit"); we write 整.
        ("1409.50", "人民币壹仟肆佰零玖元伍角整"),
        # (二) a run of 0s in the middle writes one 零
        ("6007.14", "人民币陆仟零柒元壹角肆分"),
        # (三) the 元 digit 0 with 角 not 0: 元零叁角 (the rule's first form)
        ("1680.32", "人民币壹仟陆佰捌拾元零叁角贰分"),
        # (三) the 万 digit 0 with 仟 not 0: no 零 after 万, 零 after 元 (the rule's first form)
        ("107000.53", "人民币壹拾万柒仟元零伍角叁分"),
        # (四) 角 0 with 分 not 0: 零 after 元
        ("16409.02", "人民币壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "人民币叁佰贰拾伍元零肆分"),
    ],
)
def test_the_examples_published_with_the_rule(amount: str, words: str) -> None:
    assert rmb_in_capitals(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0.00", "零元整"),
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("0.55", "伍角伍分"),
        ("100000000.00", "壹亿元整"),
        ("10005.00", "壹万零伍元整"),
        ("1000010.00", "壹佰万零壹拾元整"),
        ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
        ("107000.53", "壹拾万柒仟元零伍角叁分"),
    ],
)
def test_the_issues_examples(amount: str, words: str) -> None:
    assert rmb_in_capitals(Decimal(amount), with_currency=False) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1", "壹元整"),
        ("10", "壹拾元整"),  # ten is 壹拾, never a bare 拾
        ("15.00", "壹拾伍元整"),
        ("20.70", "贰拾元零柒角整"),  # 元 digit 0, 角 follows: 零
        ("20.07", "贰拾元零柒分"),  # 元 digit 0 and 角 0: one 零, not two
        ("20.77", "贰拾元零柒角柒分"),
        ("21.07", "贰拾壹元零柒分"),
        ("21.70", "贰拾壹元柒角整"),
        ("100", "壹佰元整"),
        ("101", "壹佰零壹元整"),
        ("110", "壹佰壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1100", "壹仟壹佰元整"),
        ("9999.99", "玖仟玖佰玖拾玖元玖角玖分"),
        ("10000", "壹万元整"),
        ("10010", "壹万零壹拾元整"),
        ("10100", "壹万零壹佰元整"),
        ("11000", "壹万壹仟元整"),
        ("100500", "壹拾万零伍佰元整"),  # 万 and 仟 digits 0: one 零
        ("1000000", "壹佰万元整"),
        ("1001000", "壹佰万壹仟元整"),  # only the 万 digit ends the section at 0: no 零
        ("1000100", "壹佰万零壹佰元整"),
        ("100000001", "壹亿零壹元整"),  # an empty 万 section and the zeros below: one 零
        ("100010000", "壹亿零壹万元整"),
        ("100100000", "壹亿零壹拾万元整"),
        ("110000000", "壹亿壹仟万元整"),
        ("1000000000.10", "壹拾亿元零壹角整"),
        ("123456789012.34", "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰元叁角肆分"),
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("1.5", "壹元伍角整"),  # one decimal place is fine
        ("12.3400", "壹拾贰元叁角肆分"),  # trailing zeros are not places
    ],
)
def test_our_own_table(amount: str, words: str) -> None:
    assert rmb_in_capitals(Decimal(amount), with_currency=False) == words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("-100", "人民币负壹佰元整"),
        ("-0.05", "人民币负伍分"),
        ("-1680.32", "人民币负壹仟陆佰捌拾元零叁角贰分"),
        ("-0.00", "人民币零元整"),  # no 负 for nothing
    ],
)
def test_a_negative_amount_is_written_with_fu_after_the_currency(amount: str, words: str) -> None:
    assert rmb_in_capitals(Decimal(amount)) == words


def test_the_currency_can_be_left_to_a_form_that_prints_it() -> None:
    assert rmb_in_capitals(Decimal("-1.00"), with_currency=False) == "负壹元整"


@pytest.mark.parametrize("amount", ["1.005", "0.001", "12.345"])
def test_more_than_two_places_is_refused_not_rounded(amount: str) -> None:
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        rmb_in_capitals(Decimal(amount))


@pytest.mark.parametrize("amount", ["1000000000000", "1000000000000.00", "-1000000000000", "5E+12"])
def test_one_wan_yi_or_more_is_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="1 万亿 or more"):
        rmb_in_capitals(Decimal(amount))


@pytest.mark.parametrize("amount", ["NaN", "Infinity"])
def test_what_is_not_a_number_is_refused(amount: str) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        rmb_in_capitals(Decimal(amount))


READING = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def read_back(words: str) -> Decimal:
    """Parse capitals back into a number: an independent check of every amount the writer makes."""
    negative = words.startswith("负")
    words = words.removeprefix("负").removesuffix("整")
    fen = 0
    if "元" in words:
        yuan_words, words = words.split("元")
    else:
        yuan_words = ""
    total = section = digit = 0
    for char in yuan_words:
        if char in READING:
            digit = READING[char]
        elif char in SMALL_UNITS:
            section += digit * SMALL_UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    yuan = total + section + digit
    for char, next_char in pairwise(words + " "):
        if char in READING and next_char == "角":
            fen += READING[char] * 10
        elif char in READING and next_char == "分":
            fen += READING[char]
    value = Decimal(yuan * 100 + fen).scaleb(-2)
    return -value if negative else value


@given(st.integers(min_value=-(10**14) + 1, max_value=10**14 - 1))
def test_every_amount_reads_back_and_keeps_the_rules_shape(fen: int) -> None:
    amount = Decimal(fen).scaleb(-2)
    words = rmb_in_capitals(amount, with_currency=False)
    assert read_back(words) == amount
    assert "零零" not in words  # one 零 for a run of zeros
    assert not words.endswith("零") and "零元" not in words.replace("零元整", "")
    assert words.endswith("分") != words.endswith("整")  # 整 exactly when no 分 ends it
