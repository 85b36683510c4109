#!/usr/bin/python3
"""Compare the decoded pixels of same-named PNGs in two folders (standard library only: 8-bit gray, gray+alpha, RGB,
RGBA; every row filter). Prints how many files are byte-identical and how many pixel-identical, and the total bytes.

    bench/startup/png-pixels.py DIR_A DIR_B        exit 0 when every PNG decodes to the same pixels, 1 otherwise
"""
import os
import struct
import sys
import zlib

CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def pixels(path):
    data = open(path, "rb").read()
    pos, idat = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            if depth != 8 or color not in CHANNELS:
                raise ValueError(f"{path}: only 8-bit gray/gray+alpha/RGB/RGBA")
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    bpp = CHANNELS[color]
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 2:  # Up, what PngWriter writes below the first row: one pass without per-byte branches
            row = bytearray((r + p) & 255 for r, p in zip(row, prev))
            kind = 0
        for x in range(stride if kind else 0):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if kind == 1:
                row[x] = (row[x] + a) & 255
            elif kind == 2:
                row[x] = (row[x] + b) & 255
            elif kind == 3:
                row[x] = (row[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(row))
        prev = row
    return (width, height, color), b"".join(rows)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    a, b = argv[1], argv[2]
    names = sorted(n for n in os.listdir(a) if n.endswith(".png"))
    same_bytes = same_pixels = size_a = size_b = 0
    for name in names:
        x, y = open(os.path.join(a, name), "rb").read(), open(os.path.join(b, name), "rb").read()
        size_a, size_b = size_a + len(x), size_b + len(y)
        same_bytes += x == y
        same_pixels += x == y or pixels(os.path.join(a, name)) == pixels(os.path.join(b, name))
    change = 100.0 * (size_b - size_a) / size_a if size_a else 0.0
    print(f"{len(names)} PNGs: {same_bytes} byte-identical, {same_pixels} pixel-identical; {size_a} -> {size_b} bytes ({change:+.2f}%)")
    return 0 if same_pixels == len(names) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
