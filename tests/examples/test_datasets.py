"""xlc.datasets: the IDX reader, the bundled digits, DataSet batching, read_data_sets' fallback."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from xlc.errors import DataLossError, NotFoundError
from xlc.datasets import DataSet, affine_augment, dense_to_one_hot, load_digits, load_digits_split, read_idx, shift_augment, write_idx
from xlc.datasets.digits import affine_warp, upsample_bilinear
from xlc.datasets.mnist import load_mnist
from xlc.examples.tutorials.mnist import input_data


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, dtype, gz):
    rng = np.random.default_rng(0)
    arr = (rng.random((3, 5, 4)) * 200).astype(dtype)
    path = str(tmp_path / ("a.idx" + (".gz" if gz else "")))
    write_idx(path, arr)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_idx_big_endian_header(tmp_path):
    # a hand-made file: labels 7, 2, 1 as MNIST stores them (magic 0x00000801, count 3)
    path = tmp_path / "labels"
    path.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x03\x07\x02\x01")
    np.testing.assert_array_equal(read_idx(str(path)), [7, 2, 1])
    # a gzipped file is recognised by content, whatever its name
    (tmp_path / "zipped").write_bytes(gzip.compress(path.read_bytes()))
    np.testing.assert_array_equal(read_idx(str(tmp_path / "zipped")), [7, 2, 1])


@pytest.mark.parametrize("content, message", [
    (b"\x00\x00", "only 2 bytes"),
    (b"\x12\x34\x08\x01\x00\x00\x00\x01\x00", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX element type"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "need 5 bytes of data, the file has 2"),
    (b"\x1f\x8b\x08\x00garbage", "corrupt gzip"),
])
def test_idx_bad_files(tmp_path, content, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataLossError, match=message) as e:
        read_idx(str(path))
    assert "bad-idx1-ubyte" in str(e.value)


def test_idx_missing_file(tmp_path):
    with pytest.raises(NotFoundError, match="nope"):
        read_idx(str(tmp_path / "nope"))


def _write_fake_mnist(directory, n_train=30, n_test=10, gz=True):
    rng = np.random.default_rng(1)
    sfx = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for name, arr in arrays.items():
        write_idx(os.path.join(directory, name + sfx), arr)
    return arrays


def test_load_mnist_from_idx(tmp_path):
    arrays = _write_fake_mnist(str(tmp_path), gz=False)
    tx, ty, sx, sy = load_mnist(str(tmp_path))
    np.testing.assert_allclose(tx, arrays["train-images-idx3-ubyte"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(sy, arrays["t10k-labels-idx1-ubyte"])


def test_load_mnist_names_missing_files(tmp_path):
    _write_fake_mnist(str(tmp_path))
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(NotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(str(tmp_path))


def test_read_data_sets_reads_idx_files(tmp_path, capsys):
    arrays = _write_fake_mnist(str(tmp_path))
    m = input_data.read_data_sets(str(tmp_path), one_hot=True, validation_size=5)
    assert "bundled" not in capsys.readouterr().out
    assert (m.train.num_examples, m.validation.num_examples, m.test.num_examples) == (25, 5, 10)
    np.testing.assert_allclose(m.train.images, arrays["train-images-idx3-ubyte"][5:].reshape(25, 784) / 255.0,
                               rtol=1e-6)
    np.testing.assert_array_equal(m.test.labels.argmax(1), arrays["t10k-labels-idx1-ubyte"])


def test_read_data_sets_falls_back_to_digits(tmp_path, capsys):
    m = input_data.read_data_sets(str(tmp_path), one_hot=True)
    assert "bundled scikit-learn digits" in capsys.readouterr().out
    assert m.train.images.shape == (1375, 784) and m.train.images.dtype == np.float32
    assert m.validation.num_examples == 125 and m.test.num_examples == 297
    assert m.train.labels.shape == (1375, 10)
    np.testing.assert_array_equal(m.train.labels.sum(1), 1.0)
    assert 0.0 <= m.train.images.min() and m.train.images.max() <= 1.0
    with pytest.raises(ValueError, match="Validation size"):
        input_data.read_data_sets(str(tmp_path), validation_size=-1)


def test_digits_match_sklearn():
    from sklearn.datasets import load_digits as sk_load

    images, labels = load_digits()
    sk = sk_load()
    assert images.shape == (1797, 28, 28) and labels.shape == (1797,)
    np.testing.assert_array_equal(labels, sk.target)
    # the 4-pixel frame is empty, and the 20x20 centre averages to the 8x8 image's mean
    assert images[:, :4].max() == 0 and images[:, :, 24:].max() == 0
    np.testing.assert_allclose(images[:, 4:24, 4:24].mean(axis=(1, 2)), sk.images.mean(axis=(1, 2)) / 16, atol=0.02)


def test_upsample_bilinear_against_direct_formula():
    rng = np.random.default_rng(2)
    img = rng.random((1, 3, 3))
    up = upsample_bilinear(img, 6)[0]
    # output pixel 2 samples input position 2.5 * 3 / 6 - 0.5 = 0.75: between input pixels 0 and 1
    expected = 0.25 * 0.25 * img[0, 0, 0] + 0.25 * 0.75 * img[0, 0, 1] + 0.75 * 0.25 * img[0, 1, 0] \
        + 0.75 * 0.75 * img[0, 1, 1]
    assert up[2, 2] == pytest.approx(expected)
    assert up[0, 0] == pytest.approx(img[0, 0, 0])  # clamped at the border


def test_split_is_fixed_and_augmented():
    tx, ty, sx, sy = load_digits_split(augment=2, seed=3)
    tx2, _, sx2, _ = load_digits_split(augment=2, seed=3)
    np.testing.assert_array_equal(tx, tx2)
    np.testing.assert_array_equal(sx, sx2)
    images, labels = load_digits()
    np.testing.assert_array_equal(sx, images[1500:])
    np.testing.assert_array_equal(sy, labels[1500:])
    assert tx.shape == (4500, 28, 28) and sx.shape == (297, 28, 28)
    np.testing.assert_array_equal(tx[:1500], images[:1500])
    np.testing.assert_array_equal(ty[:1500], ty[1500:3000])
    # copies differ from their originals but keep their ink roughly (a move, not a new image)
    assert not np.array_equal(tx[1500:3000], tx[:1500])
    ink = tx[:1500].sum(axis=(1, 2))
    np.testing.assert_allclose(tx[1500:3000].sum(axis=(1, 2)), ink, rtol=0.35)


def test_shift_augment_copies_are_shifts():
    images, labels = load_digits()
    tx, ty = shift_augment(images[:200], labels[:200], copies=1, seed=4)
    for i in (0, 123, 199):
        assert any(np.array_equal(np.roll(images[i], (dy, dx), (0, 1)), tx[200 + i])
                   for dy in range(-2, 3) for dx in range(-2, 3))


def test_affine_warp_matches_scipy():
    from scipy import ndimage

    rng = np.random.default_rng(5)
    x = np.zeros((3, 28, 28))
    x[:, 8:20, 10:18] = rng.random((3, 12, 8))
    theta, scale, shift = np.array([0.2, -0.1, 0.0]), np.array([1.1, 0.9, 1.0]), np.array([[1.5, -2], [0, 1], [0, 0]])
    out = affine_warp(x, theta, scale, shift)
    c = np.array([13.5, 13.5])
    for i in range(3):
        cos, sin = np.cos(theta[i]), np.sin(theta[i])
        m = np.array([[cos, -sin], [sin, cos]]) / scale[i]  # output coords -> input coords
        offset = c - m @ (c + shift[i])
        ref = ndimage.affine_transform(x[i], m, offset=offset, order=1, mode="constant", cval=0.0)
        np.testing.assert_allclose(out[i], ref, atol=1e-9)
    np.testing.assert_allclose(out[2], x[2])  # no move is the identity


def test_affine_augment_is_deterministic_and_bounded():
    images, labels = load_digits()
    a, la = affine_augment(images[:50], labels[:50], 2, seed=7)
    b, _ = affine_augment(images[:50], labels[:50], 2, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (150, 28, 28) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(la, np.tile(labels[:50], 3))
    assert not np.allclose(a[50:100], images[:50])


def test_shift_augment_zero_copies_is_identity():
    x = np.random.default_rng(0).random((4, 6, 6)).astype(np.float32)
    y = np.arange(4)
    ax, ay = shift_augment(x, y, 0)
    assert ax is x and ay is y


def test_dataset_next_batch_covers_each_epoch():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1) / 10
    y = np.arange(10)
    ds = DataSet(x, y, seed=0)
    seen = [ds.next_batch(4)[1] for _ in range(5)]  # 20 examples: exactly two epochs
    flat = np.concatenate(seen)
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:]) == list(range(10))
    assert ds.epochs_completed == 1
    bx, by = ds.next_batch(3, shuffle=False)
    np.testing.assert_allclose(bx[:, 0], by / 10, rtol=1e-6)  # images and labels stay paired
    assert bx.shape == (3, 1)


def test_dataset_one_hot_and_reshape():
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    ds = DataSet(x, np.array([0, 3, 9, 1, 2]), one_hot=True, reshape=False)
    assert ds.images.shape == (5, 28, 28, 1) and ds.images.dtype == np.float32
    np.testing.assert_allclose(ds.images[..., 0], x / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.labels, dense_to_one_hot(np.array([0, 3, 9, 1, 2])))
    with pytest.raises(ValueError, match="same number of examples"):
        DataSet(x, np.arange(4))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        dense_to_one_hot(np.array([10]))
