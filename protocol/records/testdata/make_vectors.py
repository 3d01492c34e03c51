#!/usr/bin/python3
"""Writes record batches and legacy message sets made by kafka-python's own encoders.

The test interop_test.cc checks that our reader decodes them. Run from this folder with Debian's
python3 and python3-kafka, python3-snappy, python3-lz4, python3-zstandard installed:
    /usr/bin/python3 make_vectors.py
The records are a fixed function of their index (see record()), mirrored in interop_test.cc.
"""
import struct
import sys
import types


def _xxh32(data, seed=0):
    """XXH32, written out from the xxHash spec: kafka-python's old-Kafka LZ4 writer imports the
    `xxhash` module, which Debian does not package, so we provide the one function it uses."""
    p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    m = 0xFFFFFFFF
    rotl = lambda v, r: ((v << r) | (v >> (32 - r))) & m
    data = bytes(data)
    n, i = len(data), 0
    if n >= 16:
        v = [(seed + p1 + p2) & m, (seed + p2) & m, seed & m, (seed - p1) & m]
        while i + 16 <= n:
            for k in range(4):
                lane = struct.unpack_from('<I', data, i + 4 * k)[0]
                v[k] = (rotl((v[k] + lane * p2) & m, 13) * p1) & m
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & m
    else:
        h = (seed + p5) & m
    h = (h + n) & m
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from('<I', data, i)[0] * p3) & m, 17) * p4) & m
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & m, 11) * p1) & m
        i += 1
    h ^= h >> 15
    h = (h * p2) & m
    h ^= h >> 13
    h = (h * p3) & m
    h ^= h >> 16
    return h


class _Xxh32:
    def __init__(self, data=b''):
        self._h = _xxh32(data)

    def digest(self):
        return struct.pack('>I', self._h)


sys.modules.setdefault('xxhash', types.SimpleNamespace(xxh32=_Xxh32))

import kafka.codec  # noqa: E402
kafka.codec.xxhash = sys.modules['xxhash']
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402
from kafka.record.legacy_records import LegacyRecordBatchBuilder  # noqa: E402

CODECS = {'none': 0, 'gzip': 1, 'snappy': 2, 'lz4': 3, 'zstd': 4}
COUNT = 5
BASE_TIMESTAMP = 1700000000000


def record(i):
    key = None if i == 2 else b'key-%d' % i
    value = None if i == 3 else (b'value-%d;' % i) * (i * 40 + 1)
    headers = [('idx', b'%d' % i)] + ([('nul', None)] if i == 1 else [])
    return BASE_TIMESTAMP + 1000 * i, key, value, headers


def v2(codec, producer_id=-1, producer_epoch=-1, base_sequence=-1, transactional=False):
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=transactional,
                                  producer_id=producer_id, producer_epoch=producer_epoch,
                                  base_sequence=base_sequence, batch_size=1 << 20)
    for i in range(COUNT):
        ts, key, value, headers = record(i)
        b.append(i, timestamp=ts, key=key, value=value, headers=headers)
    return bytes(b.build())


def legacy(magic, codec):
    b = LegacyRecordBatchBuilder(magic=magic, compression_type=codec, batch_size=1 << 20)
    for i in range(COUNT):
        ts, key, value, _ = record(i)
        b.append(i, timestamp=ts, key=key, value=value)
    return bytes(b.build())


def main():
    out = {}
    for name, codec in CODECS.items():
        out['v2_%s.bin' % name] = v2(codec)
        if codec != 4:
            out['v0_%s.bin' % name] = legacy(0, codec)
            out['v1_%s.bin' % name] = legacy(1, codec)
    out['v2_idempotent_gzip.bin'] = v2(1, producer_id=123, producer_epoch=4, base_sequence=10,
                                       transactional=True)
    for path, data in sorted(out.items()):
        with open(path, 'wb') as f:
            f.write(data)
        print(path, len(data))


if __name__ == '__main__':
    main()
