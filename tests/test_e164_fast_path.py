"""check_e164's fast path (no phonenumbers.parse) never decides otherwise than parse +
is_possible_number: it only accepts, and only numbers parse accepts too."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnisdk.errors import PhoneNumberError
from omnisdk.model.addresses import _possible_fast, check_e164


def by_parse(value: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


@settings(max_examples=3000, deadline=None)
@given(st.from_regex(r"\A\+[1-9][0-9]{1,14}\Z"))
def test_the_fast_path_accepts_only_what_parse_accepts(value):
    if _possible_fast(value):
        assert by_parse(value), value
    assert (check_e164(value) == value) if by_parse(value) else True


@pytest.mark.parametrize("value", ["+12065550142", "+14155550100", "+442079460018", "+33142685300", "+8613800138000"])
def test_real_numbers_take_the_fast_path(value):
    assert _possible_fast(value) and check_e164(value) == value


@pytest.mark.parametrize("value", ["+999123", "+1415", "+390061234567890", "+4400"])
def test_impossible_numbers_are_not_taken_by_the_fast_path_and_are_refused(value):
    assert not _possible_fast(value) and not by_parse(value)
    with pytest.raises(PhoneNumberError):
        check_e164(value)


@pytest.mark.parametrize("value", ["12065550142", "+1 206 555 0142", "tel:+12065550142"])
def test_numbers_not_written_in_e164_are_refused_before_any_check(value):
    with pytest.raises(PhoneNumberError):
        check_e164(value)
