"""Every way a .wcs file can be wrong is refused with its own clear message."""

import struct
import zlib

import pytest
import torch

from core import bitstream
from core.codec import Codec, decode, make_test_codec
from core.errors import (
    CrcMismatchError, LatentCheckError, TruncatedError, UnknownVersionError, WeightsMissingError, WrongMagicError,
)

from .helpers import SAMPLE, sample_crop


@pytest.fixture(scope="module")
def encoded():
    codec = make_test_codec("phase5")
    return codec, codec.encode(sample_crop(40, 72), 0.013).data


def test_header_round_trip(encoded):
    _, data = encoded
    h = bitstream.unpack(data)
    assert (h.variant, h.groups, h.context, h.width, h.height) == ("phase5", 4, "standard", 72, 40)
    assert h.padded_size == (64, 128) and h.lam == 0.013
    assert bitstream.pack(h) == data


def test_wrong_magic(encoded):
    _, data = encoded
    with pytest.raises(WrongMagicError, match="wrong magic"):
        bitstream.unpack(b"XXXX" + data[4:])
    with pytest.raises(WrongMagicError):
        bitstream.unpack(SAMPLE.read_bytes())  # a foreign file: a PNG


def test_unknown_version(encoded):
    _, data = encoded
    with pytest.raises(UnknownVersionError, match="version 9"):
        bitstream.unpack(data[:4] + bytes([9]) + data[5:])


@pytest.mark.parametrize("keep", [0, 3, 10, 40, -1])
def test_truncated(encoded, keep):
    _, data = encoded
    with pytest.raises(TruncatedError, match="truncated|empty"):
        bitstream.unpack(data[:keep] if keep >= 0 else data[:-1])


def test_crc_mismatch(encoded):
    _, data = encoded
    broken = bytearray(data)
    broken[-10] ^= 0x40  # a payload byte
    with pytest.raises(CrcMismatchError, match="CRC"):
        bitstream.unpack(bytes(broken))
    with pytest.raises(CrcMismatchError):
        bitstream.unpack(data + b"\x00")


def test_weights_not_installed(encoded, tmp_path):
    _, data = encoded
    with pytest.raises(WeightsMissingError, match="not installed"):
        decode(data, weights_dir_=tmp_path)


def test_other_model_refused(encoded):
    _, data = encoded
    with pytest.raises(WeightsMissingError, match="encoded with model"):
        make_test_codec("phase5", seed=1).decode(data)


def test_latent_check_catches_a_model_that_computes_differently(encoded):
    """Same id, slightly different parameters (as a GPU vs CPU mismatch would give)."""
    codec, data = encoded
    other = make_test_codec("phase5")
    with torch.no_grad():
        for p in other.model.param_net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    impostor = Codec(other.model, codec.model_id, codec.weights_sha, "cpu", "phase5")
    with pytest.raises(LatentCheckError, match="decoded-latent check failed"):
        impostor.decode(data)


def test_stream_count_checked(encoded):
    codec, data = encoded
    h = bitstream.unpack(data)
    h.streams = h.streams[:-1]
    with pytest.raises(Exception, match="streams"):
        codec.decode(bitstream.pack(h))
