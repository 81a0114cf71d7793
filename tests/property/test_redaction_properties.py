"""Hypothesis properties of the history's redaction: remembered, it is still :func:`redact`.

An action's detail is redacted by :func:`mak.model._redacted`, which remembers short
texts that need no masking; whatever the text, and however often it comes, the detail
must be what :func:`mak.errors.redact` makes of it, and what it remembers holds no key.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mak import model
from mak.errors import redact
from mak.model import ActionRecord

pytestmark = pytest.mark.property

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SYMBOLS = "BCDFGHJKMNPQRTVWXY2346789"
ANY_CASE = SYMBOLS + SYMBOLS.lower() + "\u212a"  # KELVIN SIGN folds to k
SEPARATORS = ["-", "\u2013", "\u2014", " ", "", "--"]
AT = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


class Text(str):
    """A str subclass, which the remembered redaction must not answer for."""

    __slots__ = ()


@st.composite
def key_like(draw: st.DrawFn) -> str:
    """A key or a fragment of one as people type it, masked or not, in any case."""
    groups = draw(
        st.lists(
            st.text(
                alphabet=draw(st.sampled_from([ANY_CASE, SYMBOLS, "X", "0123456789"])),
                min_size=1,
                max_size=7,
            ),
            min_size=1,
            max_size=6,
        )
    )
    return draw(st.sampled_from(SEPARATORS)).join(groups)


@st.composite
def details(draw: st.DrawFn) -> str:
    """Free text around key-like runs, short and long (past what is remembered)."""
    parts = draw(st.lists(st.one_of(st.text(max_size=60), key_like()), max_size=8))
    return "".join(parts)


@PROPERTY
@given(st.one_of(st.text(max_size=400), details()))
def test_a_detail_is_redacted_as_redact_does_each_time(text: str) -> None:
    expected = redact(text)
    assert model._redacted(text) == expected  # pyright: ignore[reportPrivateUsage]  # the converter itself
    assert model._redacted(text) == expected  # pyright: ignore[reportPrivateUsage]  # remembered now
    assert model._redacted(Text(text)) == expected  # pyright: ignore[reportPrivateUsage]  # never remembered
    record = ActionRecord(at=AT, computer_id="c-1", action="collect", detail=text)
    assert record.detail == expected
    # What is remembered needs no masking: a key, or a part of one redact hides, never is.
    assert all(redact(kept) == kept for kept in model._clean_details)  # pyright: ignore[reportPrivateUsage]  # the memory itself
