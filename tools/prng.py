"""Python twin of src/util/prng.ts: the same counter-based uniforms, bit for bit."""
import numpy as np

M32 = np.uint64(0xFFFFFFFF)


def lowbias32(x):
    x = np.asarray(x, dtype=np.uint64) & M32
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & M32
    x ^= x >> np.uint64(16)
    return x


def uniforms(seed, stream, count):
    base = lowbias32((seed + stream * 0x9E3779B9) & 0xFFFFFFFF)
    i = np.arange(count, dtype=np.uint64)
    x = lowbias32((base + i * np.uint64(0x85EBCA6B)) & M32)
    return ((x >> np.uint64(8)).astype(np.float64) + 0.5) / 16777216.0


def uniform_tensor(seed, stream, count, offset, scale):
    u = uniforms(seed, stream, count)
    return (offset + scale * (2.0 * u - 1.0)).astype(np.float32)
