"""Type rules: unknown (?) dims, TF-like error messages, attribute checks."""

from __future__ import annotations

import pytest

from ops_helpers import infer
from xlc.errors import ShapeError
from xlc.ir.opdef import RANDOM, get_opdef
from xlc.ir.types import TensorType, bool_, float32, int32, int64

N = None


def T(*shape: int | None, dtype=float32) -> TensorType:  # noqa: N802
    return TensorType(shape, dtype)


def shape_of(name: str, *types: TensorType, **attrs) -> tuple:
    (t,) = infer(name, *types, **attrs)
    return t.shape


# --- reductions -------------------------------------------------------------------------

def test_reductions_with_unknown_dims() -> None:
    assert shape_of("reduce_sum", T(N, 3, 4), axes=(0,)) == (3, 4)
    assert shape_of("reduce_mean", T(N, 3, 4), axes=(0, 2), keepdims=True) == (1, 3, 1)
    assert shape_of("reduce_max", T(2, N), axes=(1,)) == (2,)
    assert shape_of("reduce_sum", T(2, N), axes=()) == (2, N)
    assert shape_of("reduce_sum", T(2, N), axes=(-1,)) == (2,)
    assert infer("reduce_any", T(2, 3, dtype=bool_), axes=(1,))[0] == T(2, dtype=bool_)


def test_reduction_errors() -> None:
    with pytest.raises(ShapeError, match="axis 2 is out of range for a tensor of rank 2"):
        infer("reduce_sum", T(2, 3), axes=(2,))
    with pytest.raises(ShapeError, match="does not accept operand of dtype bool"):
        infer("reduce_sum", T(2, 3, dtype=bool_), axes=(0,))
    with pytest.raises(ShapeError, match="does not accept operand of dtype float32"):
        infer("reduce_all", T(2, 3), axes=(0,))
    with pytest.raises(ShapeError, match="needs attribute 'axes'"):
        infer("reduce_sum", T(2, 3))


def test_argmax_types() -> None:
    assert infer("argmax", T(N, 10), axis=1)[0] == T(N, dtype=int64)
    assert infer("argmin", T(4, N, 5), axis=1, output_type=int32)[0] == T(4, 5, dtype=int32)
    with pytest.raises(ShapeError, match="output_type must be int32 or int64"):
        infer("argmax", T(3), axis=0, output_type=float32)
    with pytest.raises(ShapeError, match="Reduction axis 0 is empty"):
        infer("argmax", T(0, 2), axis=0)


# --- matmul -----------------------------------------------------------------------------

def test_matmul_shapes() -> None:
    assert shape_of("matmul", T(N, 784), T(784, 10)) == (N, 10)
    assert shape_of("matmul", T(N, 3, 4), T(4, 5)) == (N, 3, 5)
    assert shape_of("matmul", T(7, 1, 3, 4), T(6, 4, 5)) == (7, 6, 3, 5)
    assert shape_of("matmul", T(N, 3, 4), T(2, 4, 5)) == (2, 3, 5)
    assert shape_of("matmul", T(4, 3), T(5, 4), transpose_a=True, transpose_b=True) == (3, 5)
    assert shape_of("matmul", T(2, N), T(N, 5)) == (2, 5)


def test_matmul_errors() -> None:
    with pytest.raises(ShapeError) as e:
        infer("matmul", T(2, 3), T(4, 5))
    assert str(e.value) == "Dimensions must be equal, but are 3 and 4 for 'matmul' with input shapes: [2,3], [4,5]."
    with pytest.raises(ShapeError, match=r"Shape must be rank >= 2 but is rank 1 for 'matmul'"):
        infer("matmul", T(3), T(3, 4))
    with pytest.raises(ShapeError, match=r"compatible batch dimensions: \[2\] vs. \[3\]"):
        infer("matmul", T(2, 3, 4), T(3, 4, 5))
    with pytest.raises(ShapeError, match="one dtype"):
        infer("matmul", T(2, 3), T(3, 4, dtype=int32))


# --- reshape and friends ----------------------------------------------------------------

def test_reshape_shapes() -> None:
    assert shape_of("reshape", T(N, 784), shape=(-1, 28, 28, 1)) == (N, 28, 28, 1)
    assert shape_of("reshape", T(6, 4), shape=(-1, 8)) == (3, 8)
    assert shape_of("reshape", T(N, 4), shape=(2, 8)) == (2, 8)
    assert shape_of("reshape", T(1), shape=()) == ()


def test_reshape_errors() -> None:
    with pytest.raises(ShapeError) as e:
        infer("reshape", T(2, 3), shape=(4, 2))
    assert str(e.value) == ("Cannot reshape a tensor with 6 elements to shape [4,2] (8 elements) for 'reshape' "
                            "with input shapes: [2,3].")
    with pytest.raises(ShapeError, match="not a multiple of 4"):
        infer("reshape", T(2, 3), shape=(-1, 4))
    with pytest.raises(ShapeError, match="multiple unknown dimensions"):
        infer("reshape", T(2, 3), shape=(-1, -1))
    with pytest.raises(ShapeError, match="a multiple of 5 elements"):
        infer("reshape", T(N, 5), shape=(4, 3))


def test_transpose_expand_squeeze() -> None:
    assert shape_of("transpose", T(N, 2, 3), perm=(2, 0, 1)) == (3, N, 2)
    with pytest.raises(ShapeError, match="transpose expects a vector of size 3"):
        infer("transpose", T(1, 2, 3), perm=(1, 0))
    with pytest.raises(ShapeError, match="not a permutation"):
        infer("transpose", T(1, 2), perm=(1, 1))
    assert shape_of("expand_dims", T(N, 3), axis=2) == (N, 3, 1)
    assert shape_of("expand_dims", T(N, 3), axis=0) == (1, N, 3)
    with pytest.raises(ShapeError, match="Tried to expand dim index 3 for tensor with 1 dimensions"):
        infer("expand_dims", T(3), axis=3)
    assert shape_of("squeeze", T(1, N, 1), axes=(0, 1)) == (1,)
    assert shape_of("squeeze", T(1, 3, 1)) == (3,)
    with pytest.raises(ShapeError, match=r"Can not squeeze dim\[1\], expected a dimension of 1, got 3"):
        infer("squeeze", T(2, 3), axes=(1,))
    with pytest.raises(ShapeError, match="needs every dim known"):
        infer("squeeze", T(N, 3))


def test_concat_stack_unstack_split() -> None:
    assert shape_of("concat", T(N, 3), T(2, 3), axis=0) == (N, 3)
    assert shape_of("concat", T(2, 3), T(2, 4), T(N, 1), axis=1) == (2, 8)
    assert shape_of("concat", T(2, N), T(2, 4), axis=0) == (4, 4)
    with pytest.raises(ShapeError) as e:
        infer("concat", T(2, 3), T(2, 4), axis=0)
    assert str(e.value).startswith("Dimension 1 in both shapes must be equal, but are 3 and 4. "
                                   "Shapes are [2,3] and [2,4].")
    with pytest.raises(ShapeError, match="Shape must be rank 2 but is rank 1 for 'concat'"):
        infer("concat", T(2, 3), T(3), axis=0)
    assert shape_of("stack", T(N, 3), T(2, N), axis=1) == (2, 2, 3)
    with pytest.raises(ShapeError, match=r"values\[0\].shape = \[2,3\] != values\[1\].shape = \[2,4\]"):
        infer("stack", T(2, 3), T(2, 4), axis=0)
    assert [t.shape for t in infer("unstack", T(N, 3, 4), axis=1, num=3)] == [(N, 4)] * 3
    assert len(infer("unstack", T(N, 2), axis=0, num=5)) == 5
    with pytest.raises(ShapeError, match="Dimension must be 3 but is 4"):
        infer("unstack", T(2, 3), axis=1, num=4)
    assert [t.shape for t in infer("split", T(N, 10), axis=1, sizes=(3, -1, 2))] == [(N, 3), (N, 5), (N, 2)]
    assert [t.shape for t in infer("split", T(N, 10), axis=0, sizes=(3, -1))] == [(3, 10), (N, 10)]
    with pytest.raises(ShapeError, match="Determined shape must either match"):
        infer("split", T(4, 10), axis=1, sizes=(3, 3))


def test_tile_broadcast_shape_size_rank() -> None:
    assert shape_of("tile", T(N, 3), multiples=(2, 3)) == (N, 9)
    assert shape_of("tile", T(N, 3), multiples=(0, 1)) == (0, 3)
    with pytest.raises(ShapeError, match="vector of length 2 but got length 1"):
        infer("tile", T(2, 3), multiples=(2,))
    assert shape_of("broadcast_to", T(N, 1), shape=(4, 5)) == (4, 5)
    with pytest.raises(ShapeError, match=r"Incompatible shapes: \[2,3\] vs. \[4,3\]"):
        infer("broadcast_to", T(2, 3), shape=(4, 3))
    assert infer("shape", T(N, 3))[0] == T(2, dtype=int32)
    assert infer("size", T(N, 3), out_type=int64)[0] == T(dtype=int64)
    assert infer("rank", T(N, 3))[0] == T(dtype=int32)


# --- indexing ---------------------------------------------------------------------------

def test_slice_rules() -> None:
    assert shape_of("slice", T(N, 5), begin=(1, 2), size=(-1, 2)) == (N, 2)
    assert shape_of("slice", T(4, 5), begin=(1, 2), size=(-1, -1)) == (3, 3)
    with pytest.raises(ShapeError, match=r"Expected size\[0\] in \[0, 2\], but got 3"):
        infer("slice", T(4, 5), begin=(2, 0), size=(3, 1))
    with pytest.raises(ShapeError, match="Expected begin and size arguments to be 1-D tensors of size 2"):
        infer("slice", T(4, 5), begin=(2,), size=(3,))


def test_strided_slice_rules() -> None:
    # x[:, 1:3] with unknown batch
    assert shape_of("strided_slice", T(N, 5), begin=(0, 1), end=(0, 3), strides=(1, 1), begin_mask=1,
                    end_mask=1) == (N, 2)
    # x[1] on an unknown dim shrinks it away; x[..., newaxis, 0]
    assert shape_of("strided_slice", T(N, 5), begin=(1,), end=(2,), strides=(1,), shrink_axis_mask=1) == (5,)
    assert shape_of("strided_slice", T(N, 4, 5), begin=(0, 0, 0), end=(0, 0, 1), strides=(1, 1, 1),
                    ellipsis_mask=1, new_axis_mask=2, shrink_axis_mask=4) == (N, 4, 1)
    with pytest.raises(ShapeError, match="slice index 5 of dimension 1 out of bounds"):
        infer("strided_slice", T(N, 5), begin=(0, 5), end=(0, 6), strides=(1, 1), begin_mask=1, end_mask=1,
              shrink_axis_mask=2)
    with pytest.raises(ShapeError, match=r"strides\[0\] must be non-zero"):
        infer("strided_slice", T(3), begin=(0,), end=(3,), strides=(0,))
    with pytest.raises(ShapeError, match="Multiple ellipses"):
        infer("strided_slice", T(3), begin=(0, 0), end=(0, 0), strides=(1, 1), ellipsis_mask=3)
    with pytest.raises(ShapeError, match="Index out of range using input dim 1"):
        infer("strided_slice", T(3), begin=(0, 0), end=(1, 1), strides=(1, 1))


def test_gather_pad_one_hot_rules() -> None:
    assert shape_of("gather", T(N, 5, 6), T(2, 3, dtype=int32), axis=1) == (N, 2, 3, 6)
    assert shape_of("gather", T(10, 4), T(N, dtype=int64)) == (N, 4)
    with pytest.raises(ShapeError, match="does not accept indices of dtype float32"):
        infer("gather", T(10, 4), T(3))
    assert shape_of("pad", T(N, 3), paddings=(1, 2, 0, 1)) == (N, 4)
    assert shape_of("pad", T(2, 3), paddings=(1, 1, 2, 2), mode="SYMMETRIC") == (4, 7)
    with pytest.raises(ShapeError, match="paddings must be less than the dimension size: 3, 0 not less than 3"):
        infer("pad", T(2, 3), paddings=(0, 0, 3, 0), mode="REFLECT")
    with pytest.raises(ShapeError, match="no greater than the dimension size"):
        infer("pad", T(2, 3), paddings=(3, 0, 0, 0), mode="SYMMETRIC")
    with pytest.raises(ShapeError, match="mode must be one of"):
        infer("pad", T(2, 3), paddings=(0, 0, 0, 0), mode="EDGE")
    with pytest.raises(ShapeError, match="paddings must be the rank of inputs"):
        infer("pad", T(2, 3), paddings=(0, 0, 0))
    assert infer("one_hot", T(N, 3, dtype=int32), depth=10)[0] == T(N, 3, 10)
    assert infer("one_hot", T(N, dtype=int64), depth=4, axis=0, dtype=int32)[0] == T(4, N, dtype=int32)
    with pytest.raises(ShapeError, match=r"Expected axis to be -1 or between \[0, 1\].  But received: 2"):
        infer("one_hot", T(3, dtype=int32), depth=4, axis=2)


# --- creation and random ----------------------------------------------------------------

def test_creation_rules() -> None:
    assert infer("fill", T(dtype=int32), shape=(2, 3))[0] == T(2, 3, dtype=int32)
    with pytest.raises(ShapeError, match="value must be a scalar"):
        infer("fill", T(2), shape=(2, 3))
    assert shape_of("range", start=0, limit=10, delta=3, dtype=int32) == (4,)
    assert shape_of("range", start=1.0, limit=2.0, delta=0.3, dtype=float32) == (4,)
    assert shape_of("range", start=5, limit=-1, delta=-2, dtype=int64) == (3,)
    with pytest.raises(ShapeError, match="Requires start <= limit when delta > 0: 5/1"):
        infer("range", start=5, limit=1, delta=1, dtype=int32)
    with pytest.raises(ShapeError, match="Requires delta != 0"):
        infer("range", start=0, limit=1, delta=0, dtype=int32)
    assert shape_of("lin_space", start=0.0, stop=1.0, num=7) == (7,)
    with pytest.raises(ShapeError, match="Requires num > 0: 0"):
        infer("lin_space", start=0.0, stop=1.0, num=0)


def test_random_rules() -> None:
    assert infer("random_uniform", shape=(2, 3), seed=1, seed2=2)[0] == T(2, 3)
    assert infer("truncated_normal", shape=(4,), seed=1, seed2=2, dtype="float64")[0].dtype.name == "float64"
    with pytest.raises(ShapeError, match="does not produce int32"):
        infer("random_normal", shape=(2,), seed=1, seed2=2, dtype=int32)
    assert infer("random_shuffle", T(N, 3), seed=1, seed2=2)[0] == T(N, 3)
    with pytest.raises(ShapeError, match="rank >= 1"):
        infer("random_shuffle", T(), seed=1, seed2=2)


def test_random_ops_carry_the_random_trait() -> None:
    for name in ("random_uniform", "random_normal", "truncated_normal", "random_shuffle"):
        assert get_opdef(name).has(RANDOM)
    assert not get_opdef("matmul").has(RANDOM)
