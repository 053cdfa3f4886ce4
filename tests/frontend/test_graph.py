"""Graph construction: names, scopes, devices, control dependencies, lookups, collections, seeds."""

from __future__ import annotations

import numpy as np
import pytest

import xlc as tf
from xlc.frontend.graph import get_seed
from xlc.frontend.op_builder import apply_op, convert_to_tensor
from xlc.frontend.tensor_shape import Dimension, TensorShape


def add(x, y, name=None):
    return apply_op("Add", "add", [x, y], name=name).outputs[0]


def test_tensor_str_and_repr_are_tf1s():
    a = add(3, 5)
    assert str(a) == 'Tensor("Add:0", shape=(), dtype=int32)'
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    assert repr(x) == "<tf.Tensor 'x:0' shape=(?, 3) dtype=float32>"
    assert repr(x.shape) == "TensorShape([Dimension(None), Dimension(3)])"
    assert x.shape.as_list() == [None, 3] and x.get_shape().ndims == 2
    assert a.op.type == "Add" and a.value_index == 0 and a.graph is tf.get_default_graph()


def test_names_are_uniquified_and_scoped():
    a, b = tf.constant(1.0), tf.constant(2.0)
    assert (a.name, b.name) == ("Const:0", "Const_1:0")
    assert add(a, b).op.name == "Add"
    assert add(a, b).op.name == "Add_1"
    with tf.name_scope("layer1"):
        assert add(a, b).op.name == "layer1/Add"
        with tf.name_scope("inner") as scope:
            assert scope == "layer1/inner/"
            assert add(a, b, name="sum").op.name == "layer1/inner/sum"
    with tf.name_scope("layer1") as scope:
        assert scope == "layer1_1/"
        assert add(a, b).op.name == "layer1_1/Add"
    with tf.name_scope("layer1/"):  # an absolute scope is reused verbatim
        assert add(a, b).op.name == "layer1/Add_1"
    # a name taken explicitly is skipped by the counter, case-insensitively
    tf.constant(0, name="c_1")
    assert tf.constant(0, name="c").name == "c:0"
    assert tf.constant(0, name="C").name == "C_2:0"


def test_lookups_by_name():
    a = tf.placeholder(tf.float32, name="a")
    s = add(a, a, name="s")
    g = tf.get_default_graph()
    assert g.get_tensor_by_name("s:0") is s
    assert g.get_operation_by_name("s") is s.op
    assert g.get_operations() == [a.op, s.op]
    assert s.op in a.consumers() or a.consumers() == [s.op]
    with pytest.raises(KeyError, match="'t:0'"):
        g.get_tensor_by_name("t:0")
    with pytest.raises(KeyError, match="only has 1 outputs"):
        g.get_tensor_by_name("s:3")
    with pytest.raises(ValueError, match="Tensor"):
        g.get_operation_by_name("s:0")


def test_device_scopes_are_recorded_and_normalised():
    a = tf.constant(1.0)
    with tf.device("/cpu:0"):
        b = add(a, a)
        with tf.device("/device:GPU:1"):
            c = add(a, a)
        with tf.device(None):
            d = add(a, a)
    with tf.device("/job:worker/task:2"):
        with tf.device("/gpu:0"):
            e = add(a, a)
    assert a.device == ""
    assert b.device == "/device:CPU:0"
    assert c.device == "/device:GPU:1"
    assert d.device == ""
    assert e.device == "/job:worker/task:2/device:GPU:0"


def test_control_dependencies():
    a = tf.constant(1.0)
    b = tf.constant(2.0)
    with tf.control_dependencies([a]):
        c = add(b, b)
        with tf.control_dependencies([b.op]):
            d = add(b, b)
        with tf.control_dependencies(None):
            e = add(b, b)
        f = add(a, b)  # a is already a data input
    assert c.op.control_inputs == (a.op,)
    assert d.op.control_inputs == (a.op,)  # b is a data input of d
    assert e.op.control_inputs == ()
    assert f.op.control_inputs == ()


def test_collections():
    tf.add_to_collection("things", 1)
    tf.add_to_collections(["things", "more"], 2)
    assert tf.get_collection("things") == [1, 2]
    assert tf.get_collection("more") == [2]
    assert tf.get_collection("none") == []
    assert tf.GraphKeys.GLOBAL_VARIABLES == "variables"


def test_graphs_as_default_and_reset():
    g = tf.Graph()
    outer = tf.get_default_graph()
    with g.as_default():
        assert tf.get_default_graph() is g
        x = tf.constant(1.0)
        with pytest.raises(AssertionError):
            tf.reset_default_graph()
    assert x.graph is g and tf.get_default_graph() is outer
    with pytest.raises(ValueError, match="same graph"):
        add(x, tf.constant(2.0))
    tf.reset_default_graph()
    assert tf.get_default_graph() is not outer


def test_finalize_and_version():
    g = tf.get_default_graph()
    v0 = g.version
    tf.constant(1)
    assert g.version > v0
    g.finalize()
    with pytest.raises(RuntimeError, match="finalized"):
        tf.constant(2)


def test_tensor_is_not_a_bool_and_hashes_by_identity():
    a = tf.constant(1.0)
    with pytest.raises(TypeError, match="bool"):
        bool(a)
    with pytest.raises(TypeError):
        if a:
            pass
    b = tf.constant(1.0)
    assert len({a, b, a}) == 2
    assert a.__array_priority__ > 0


def test_type_errors_come_from_the_type_rule():
    with pytest.raises(ValueError, match="add"):
        add(tf.constant([1.0, 2.0]), tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError):  # mixed dtypes
        add(tf.constant(1), tf.constant(1.0))
    n = len(tf.get_default_graph().get_operations())
    with pytest.raises(ValueError):
        add(tf.constant([1.0, 2.0]), tf.constant([[1.0, 2.0, 3.0]]))
    assert len(tf.get_default_graph().get_operations()) == n + 2  # the failed op was not added


def test_unknown_rank_propagates():
    a = tf.placeholder(tf.float32)
    c = add(a, tf.constant(1.0))
    assert c.shape.ndims is None and c.dtype is tf.float32
    assert str(c.shape) == "<unknown>"
    with pytest.raises(ValueError, match="unknown rank"):
        c.type


def test_set_shape():
    x = tf.placeholder(tf.float32, [None, 3])
    x.set_shape([4, 3])
    assert x.shape.as_list() == [4, 3]
    with pytest.raises(ValueError):
        x.set_shape([4, 2])


def test_source_location_is_the_users_line():
    a = tf.constant(1.0)
    assert a.op.loc is not None and a.op.loc.file == __file__


def test_convert_to_tensor_rules():
    rng = np.random.default_rng(0)
    assert convert_to_tensor(3).dtype is tf.int32
    assert convert_to_tensor(3.5).dtype is tf.float32
    assert convert_to_tensor(True).dtype is tf.bool
    assert convert_to_tensor([[1, 2], [3, 4]]).shape.as_list() == [2, 2]
    arr = rng.standard_normal((2, 3))
    t = convert_to_tensor(arr)
    assert t.dtype is tf.float64
    np.testing.assert_array_equal(t.op.attrs["value"], arr)
    assert convert_to_tensor(3, dtype=tf.float32).dtype is tf.float32
    assert convert_to_tensor(2**40).dtype is tf.int64
    assert convert_to_tensor("hi").dtype is tf.string
    with pytest.raises(TypeError):
        convert_to_tensor(1.5, dtype=tf.int32)
    with pytest.raises(ValueError, match="requested dtype int32"):
        convert_to_tensor(t, dtype=tf.int32)
    assert convert_to_tensor(t) is t


def test_constant_with_shape_broadcasts_a_scalar():
    c = tf.constant(7.0, shape=[2, 3])
    assert c.shape.as_list() == [2, 3]
    np.testing.assert_array_equal(c.op.attrs["value"], np.full((2, 3), 7.0, np.float32))
    d = tf.constant([1, 2, 3, 4, 5, 6], shape=[2, 3])
    np.testing.assert_array_equal(d.op.attrs["value"], np.arange(1, 7).reshape(2, 3))
    with pytest.raises(TypeError):
        tf.constant([1, 2, 3], shape=[2])


def test_seeds_follow_tf1_rules():
    a, b = get_seed(None), get_seed(None)
    assert a != b  # nondeterministic, drawn at build time
    assert get_seed(5) == (87654321, 5)
    tf.set_random_seed(42)
    s1, s2 = get_seed(None), get_seed(None)
    assert s1[0] == s2[0] == 42 and s1[1] != s2[1]
    assert get_seed(7) == (42, 7)
    tf.reset_default_graph()
    tf.set_random_seed(42)
    assert get_seed(None) == s1  # the per-graph counter restarts in a new graph
    tf.set_random_seed(0)
    assert get_seed(0) == (0, 2**31 - 1)


def test_tensor_shape_api():
    s = TensorShape([2, None, 4])
    assert s.ndims == 3 and not s.is_fully_defined()
    assert s[0] == Dimension(2) and s[0].value == 2 and int(s[2]) == 4
    assert s[1].value is None and str(s[1]) == "?"
    assert s[1:].as_list() == [None, 4]
    assert s == [2, None, 4]
    assert s.merge_with([2, 3, 4]).as_list() == [2, 3, 4]
    assert s.is_compatible_with([2, 5, 4]) and not s.is_compatible_with([3, 5, 4])
    assert TensorShape([3, 4]).num_elements() == 12
    assert str(TensorShape([3])) == "(3,)" and str(TensorShape([])) == "()"
    assert TensorShape(None).ndims is None
    with pytest.raises(ValueError):
        TensorShape(None).as_list()
    with pytest.raises(ValueError):
        TensorShape([1, 2]).merge_with([1, 3])
