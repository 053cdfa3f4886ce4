"""strided_slice against numpy's basic indexing, through TF's (begin, end, strides, masks) encoding."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ops_helpers import infer, run_op
from xlc.errors import ShapeError
from xlc.ir.types import TensorType, float32


def tf_encode(spec: tuple[Any, ...]) -> dict[str, Any]:
    """The attributes TF's Tensor.__getitem__ builds for a Python index expression."""
    begin, end, strides = [], [], []
    masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
    for i, s in enumerate(spec):
        bit = 1 << i
        if isinstance(s, slice):
            begin.append(0 if s.start is None else s.start)
            end.append(0 if s.stop is None else s.stop)
            strides.append(1 if s.step is None else s.step)
            masks["begin_mask"] |= bit if s.start is None else 0
            masks["end_mask"] |= bit if s.stop is None else 0
        elif s is Ellipsis:
            begin.append(0), end.append(0), strides.append(1)
            masks["ellipsis_mask"] |= bit
        elif s is None:
            begin.append(0), end.append(0), strides.append(1)
            masks["new_axis_mask"] |= bit
        else:
            begin.append(s), end.append(s + 1), strides.append(1)
            masks["shrink_axis_mask"] |= bit
    return dict(begin=tuple(begin), end=tuple(end), strides=tuple(strides), **masks)


def check(x: np.ndarray, spec: tuple[Any, ...]) -> None:
    attrs = tf_encode(spec)
    try:
        want = x[spec]
    except IndexError:
        with pytest.raises(ShapeError):
            run_op("strided_slice", x, **attrs)
        return
    got = run_op("strided_slice", x, **attrs)
    assert got.shape == want.shape, (spec, attrs)
    assert (got == want).all()
    # with every dim unknown, the static type must still be compatible with the result
    (t,) = infer("strided_slice", TensorType((None,) * x.ndim, float32), **attrs)
    assert t.is_compatible_with(want.shape), (spec, t, want.shape)


CASES = [
    (slice(None), slice(1, 3)),
    (1,),
    (-1,),
    (slice(None, None, -1),),
    (slice(-2, None, -2), Ellipsis, 0),
    (Ellipsis, None, 1),
    (None, Ellipsis, None),
    (slice(10, -10, -1), slice(None, None, 3)),
    (2, -1, slice(0, 1)),
    (Ellipsis,),
    (slice(1, 1),),
    (slice(-100, 100), None, Ellipsis, slice(None, 0, -1)),
]


@pytest.mark.parametrize("spec", CASES)
def test_cases(spec: tuple[Any, ...]) -> None:
    x = np.arange(1, 61, dtype=np.float32).reshape(3, 4, 5)
    check(x, spec)


def test_out_of_bounds_index_message() -> None:
    x = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    with pytest.raises(ShapeError, match="slice index 3 of dimension 1 out of bounds"):
        run_op("strided_slice", x, **tf_encode((slice(None), 3)))


index = st.one_of(
    st.builds(slice, st.one_of(st.none(), st.integers(-7, 7)), st.one_of(st.none(), st.integers(-7, 7)),
              st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))),
    st.integers(-5, 4),
    st.just(None),
    st.just(Ellipsis),
)


@settings(max_examples=300, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=4), spec=st.lists(index, min_size=0, max_size=5))
def test_matches_numpy(shape: list[int], spec: list[Any]) -> None:
    x = np.arange(1, int(np.prod(shape)) + 1, dtype=np.float32).reshape(shape)
    check(x, tuple(spec))
