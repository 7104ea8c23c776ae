"""Writes the seed corpus of the libFuzzer targets (native/fuzz/corpus/<target>/), one file per
case named after it, encoded as fuzz_input.h and each target decode their input. Run it again
after changing a decoder: python3 native/fuzz/make_corpus.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def small(value, count):
    """A value the decoder reads as pick(count) after a selector byte that is not 'wide'."""
    assert 0 <= value < count
    return bytes([1, value])


def int32(value):
    return struct.pack('<i', value)


def edgy_raw(value):
    """edgy_int64's 'any 64-bit value' case."""
    return bytes([5]) + struct.pack('<q', value)


def sizes(values):
    out = bytes([len(values)])
    for v in values:
        out += edgy_raw(v) + bytes([0])  # name: "n"
    return out


def view(shape, strides, offset, length):
    out = bytes([2]) + small(len(shape), 6) + bytes([1])  # stride count = ndim
    for s in shape:
        out += small(s, 6) if 0 <= s < 6 else bytes([0]) + int32(s)
    for s in strides:
        out += bytes([1, s & 0xff]) if -8 < s < 8 else bytes([0]) + int32(s)
    out += small(offset, 64) if offset < 64 else bytes([0]) + edgy_raw(offset)
    out += bytes([1, length]) if length < 256 else bytes([0]) + edgy_raw(length)
    return out


CHECKS = {
    'product_small': bytes([0]) + sizes([2, 3, 4]) + bytes([0]),
    'product_with_zero': bytes([0]) + sizes([0, 2**40, 2**40]) + bytes([0]),
    'product_past_2_53': bytes([0]) + sizes([2**31 - 1, 2**31 - 1, 3]) + bytes([1]) + edgy_raw(7),
    'work_at_2_48': bytes([1]) + sizes([2**24, 2**24]),
    'work_past_2_48': bytes([1]) + sizes([2**24, 2**24 + 1]),
    'view_contiguous': view([2, 3], [3, 1], 0, 6),
    'view_transposed': view([3, 2], [1, 3], 0, 6),
    'view_reversed': view([5], [-1], 4, 5),
    'view_expanded': view([2, 3, 4], [0, 4, 1], 0, 12),
    'view_one_past_the_end': view([2, 3], [3, 1], 1, 6),
    'view_negative_reach': view([3], [-2], 3, 8),
    'view_huge_offset': view([2], [1], 2**53, 10),
    'overlap_partial': bytes([3]) + int32(0) + int32(16) + int32(8) + int32(16),
    'overlap_adjacent': bytes([3]) + int32(0) + int32(16) + int32(16) + int32(16),
}


def geometry(n, c, h, w, k, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups, values=b''):
    """A consistent conv geometry (outH, outW follow), then bytes for x and the weight."""
    out = b''
    for i, v in enumerate([n, c, h, w, k, kh, kw, sh, sw, pt, pb, pl, pr, dh, dw, groups]):
        count = 3 if i in (7, 8) else 5
        base = 1 if i == 15 else 0
        out += bytes([1, v - base]) if 0 <= v - base < count else bytes([0]) + int32(v)
    return out + bytes([1]) + values


ramp = bytes(range(256))
CONV = {
    'lenet_like': geometry(1, 1, 6, 6, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ramp),
    'stride_2_padded': geometry(2, 3, 7, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ramp),
    'depthwise': geometry(1, 4, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, ramp),
    'grouped': geometry(1, 4, 4, 4, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2, ramp),
    'dilated': geometry(1, 2, 9, 9, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, ramp),
    'winograd_3x3': geometry(1, 16, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ramp),
    'empty_batch': geometry(0, 3, 4, 4, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ramp),
    'asymmetric_padding': geometry(1, 1, 3, 4, 1, 2, 3, 1, 2, 0, 3, 2, 0, 1, 1, 1, ramp),
    'huge_dilation_and_padding': geometry(1, 1, 1, 1, 1, 2, 2, 1, 1, 500000000, 500000000, 500000000,
                                          500000000, 1000000000, 1000000000, 1),
    'kernel_larger_than_input': geometry(1, 1, 2, 2, 1, 4, 4, 1, 1, 0, 0, 0, 0, 1, 1, 1),
}

for target, cases in (('fuzz_checks', CHECKS), ('fuzz_conv_geometry', CONV)):
    folder = os.path.join(HERE, 'corpus', target)
    os.makedirs(folder, exist_ok=True)
    for name, data in cases.items():
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(data)
