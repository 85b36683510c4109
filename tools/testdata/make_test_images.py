#!/usr/bin/python3
"""Generate the small unit-test images (and bad inputs) for ImageFlowIO.

Run with the Debian python (needs python3-pil, python3-numpy, python3-skimage):

    /usr/bin/python3 tools/testdata/make_test_images.py

Writes tests/TestData/images/ and tests/TestData/bad/ (relative to the repo root).
Deterministic: running it twice with the same Pillow/libjpeg produces
byte-identical files. Photo pixels come from scikit-image's sample image
"chelsea.png" (CC0 by the photographer, Stefan van der Walt).
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, features

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(ROOT, "tests", "TestData", "images")
BAD = os.path.join(ROOT, "tests", "TestData", "bad")


def skimage_data_dir():
    try:
        import skimage.data
        d = os.path.dirname(skimage.data.__file__)
        if os.path.exists(os.path.join(d, "chelsea.png")):
            return d
    except ImportError:
        pass
    for d in ("/usr/lib/python3/dist-packages/skimage/data",
              "/usr/share/python3-skimage/data"):
        if os.path.exists(os.path.join(d, "chelsea.png")):
            return d
    sys.exit("cannot find scikit-image's data folder (install python3-skimage)")


# ---------------------------------------------------------------------------
# minimal PNG writer (for 48-bit RGB and hand-crafted headers)
# ---------------------------------------------------------------------------
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def chunk(tag, data):
    return (struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))


def ihdr(w, h, bit_depth, color_type):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0))


def write_png_raw(path, w, h, bit_depth, color_type, rows_bytes):
    """rows_bytes: list of unfiltered scanlines (filter type 0 is prepended)."""
    raw = b"".join(b"\x00" + r for r in rows_bytes)
    data = PNG_SIG + ihdr(w, h, bit_depth, color_type) + chunk(b"IDAT", zlib.compress(raw, 9)) \
        + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)
    return data


def read_png_16bit_rgb(path):
    """Tiny decoder for our own filter-0 48-bit PNG (verification only)."""
    data = open(path, "rb").read()
    assert data[:8] == PNG_SIG
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        tag = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        crc, = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            w, h, bd, ct = struct.unpack(">IIBB", body[:10])
            assert bd == 16 and ct == 2
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = 1 + w * 6
    out = np.zeros((h, w, 3), dtype=np.uint16)
    for y in range(h):
        line = raw[y * stride:(y + 1) * stride]
        assert line[0] == 0
        out[y] = np.frombuffer(line[1:], dtype=">u2").reshape(w, 3)
    return out


# ---------------------------------------------------------------------------
def main():
    os.makedirs(IMAGES, exist_ok=True)
    os.makedirs(BAD, exist_ok=True)
    src = Image.open(os.path.join(skimage_data_dir(), "chelsea.png")).convert("RGB")
    assert src.size == (451, 300), src.size

    def P(name):
        return os.path.join(IMAGES, name)

    def B(name):
        return os.path.join(BAD, name)

    # 4:3 crop of the cat's face/body, then downscale.
    crop = src.crop((25, 0, 425, 300))                      # 400 x 300
    photo160 = crop.resize((160, 120), Image.LANCZOS)
    photo64 = crop.resize((64, 48), Image.LANCZOS)

    # --- photo 160x120: JPEG q95 + lossless PNG of the same source pixels ---
    photo160.save(P("photo_160x120.jpg"), "JPEG", quality=95, optimize=False,
                  progressive=False, subsampling="4:2:0")
    photo160.save(P("photo_160x120.png"), "PNG", optimize=False, compress_level=9)

    # --- EXIF orientation 6: stored 160x120, displayed 120x160 ---
    # A 16x16 pure-red marker is painted at the STORED top-left corner
    # (x 0..15, y 0..15). Orientation 6 = rotate 90 deg clockwise for display,
    # so after auto-orient the marker is at the displayed top-RIGHT corner
    # (x 104..119, y 0..15 in the 120x160 image).
    oriented = photo160.copy()
    oriented.paste((255, 0, 0), (0, 0, 16, 16))
    exif = Image.Exif()
    exif[0x0112] = 6
    oriented.save(P("exif_orient6_160x120.jpg"), "JPEG", quality=95, exif=exif.tobytes())

    # --- 16-bit grayscale: v(x, y) = x*1000 + y*13 (x 0..63, y 0..47) ---
    yy, xx = np.mgrid[0:48, 0:64]
    g16 = (xx * 1000 + yy * 13).astype(np.uint16)
    im16 = Image.fromarray(g16)          # mode "I;16"
    assert im16.mode == "I;16", im16.mode
    im16.save(P("gray16_64x48.png"), "PNG", compress_level=9)
    back = np.array(Image.open(P("gray16_64x48.png")))
    assert back.dtype in (np.uint16, np.int32) and np.array_equal(back.astype(np.int64), g16), \
        "16-bit PNG round-trip failed"
    with open(P("gray16_64x48.png"), "rb") as f:
        hdr = f.read(33)
    assert hdr[24] == 16 and hdr[25] == 0, "gray16 must be bit depth 16 colour type 0"

    # --- 48-bit RGB (16 bits/channel), hand-written PNG ---
    # R = x*2000 + y*7, G = y*2700 + x*11, B = 65535 - 1000*(x + y); x 0..31, y 0..23
    yy, xx = np.mgrid[0:24, 0:32]
    rgb48 = np.stack([xx * 2000 + yy * 7, yy * 2700 + xx * 11, 65535 - 1000 * (xx + yy)],
                     axis=-1).astype(np.uint16)
    write_png_raw(P("rgb48_32x24.png"), 32, 24, 16, 2,
                  [rgb48[y].astype(">u2").tobytes() for y in range(24)])
    assert np.array_equal(read_png_16bit_rgb(P("rgb48_32x24.png")), rgb48)
    Image.open(P("rgb48_32x24.png")).load()  # Pillow must accept it too

    # --- 64x48 variants of the photo ---
    photo64.save(P("photo_64x48.png"), "PNG", compress_level=9)   # reference pixels
    photo64.convert("L").save(P("gray8_64x48.png"), "PNG", compress_level=9)
    pal = photo64.quantize(colors=64, method=Image.MEDIANCUT, dither=Image.NONE)
    assert pal.mode == "P"
    pal.save(P("palette_64x48.png"), "PNG", compress_level=9)
    rgba = photo64.copy()
    alpha = ((np.mgrid[0:48, 0:64][1] * 255) // 63).astype(np.uint8)   # a(x,y) = x*255 // 63
    rgba.putalpha(Image.fromarray(alpha, "L"))
    rgba.save(P("rgba_64x48.png"), "PNG", compress_level=9)
    photo64.convert("CMYK").save(P("cmyk_64x48.jpg"), "JPEG", quality=95)
    webp_ok = features.check("webp")
    if webp_ok:
        photo64.save(P("photo_64x48.webp"), "WEBP", lossless=True, quality=100, method=6,
                     exact=True)
        assert np.array_equal(np.array(Image.open(P("photo_64x48.webp")).convert("RGB")),
                              np.array(photo64)), "lossless WebP round-trip failed"
    photo64.save(P("photo_64x48.tiff"), "TIFF", compression="raw")
    photo64.save(P("photo_64x48.bmp"), "BMP")

    # --- animated GIF: frame 0 solid (200,30,30), frame 1 solid (30,30,200) ---
    f0 = Image.new("RGB", (64, 48), (200, 30, 30))
    f1 = Image.new("RGB", (64, 48), (30, 30, 200))
    f0.save(P("anim_2frames_64x48.gif"), "GIF", save_all=True, append_images=[f1],
            duration=[100, 100], loop=0, optimize=False, disposal=1)
    g = Image.open(P("anim_2frames_64x48.gif"))
    assert g.n_frames == 2
    assert g.convert("RGB").getpixel((5, 5)) == (200, 30, 30)
    g.seek(1)
    assert g.convert("RGB").getpixel((5, 5)) == (30, 30, 200)

    # --- formula images ---
    Image.new("RGB", (32, 32), (255, 0, 0)).save(P("solid_red_32x32.png"), "PNG",
                                                 compress_level=9)
    yy, xx = np.mgrid[0:17, 0:33]
    grad = np.stack([(xx * 7) % 256, (yy * 13) % 256, ((xx + yy) * 3) % 256],
                    axis=-1).astype(np.uint8)
    Image.fromarray(grad, "RGB").save(P("gradient_33x17.png"), "PNG", compress_level=9)

    # ---------------------------------------------------------------------
    # bad inputs
    # ---------------------------------------------------------------------
    jpeg_bytes = open(P("photo_160x120.jpg"), "rb").read()
    open(B("empty.jpg"), "wb").close()
    with open(B("truncated.jpg"), "wb") as f:
        f.write(jpeg_bytes[: int(len(jpeg_bytes) * 0.4)])
    with open(B("random.png"), "wb") as f:
        f.write(np.random.RandomState(1).bytes(4096))
    with open(B("text_as.png"), "wb") as f:
        f.write(b"This is a plain text file with a .png extension.\n"
                b"ImageFlowIO tests use it as a 'wrong extension / not an image' input.\n")
    with open(B("jpeg_named.png"), "wb") as f:
        f.write(jpeg_bytes)

    # huge_header.png: valid signature + IHDR 100000x100000 RGB8 (correct CRC),
    # tiny IDAT (one filtered scanline start only), IEND.
    with open(B("huge_header.png"), "wb") as f:
        f.write(PNG_SIG + ihdr(100000, 100000, 8, 2)
                + chunk(b"IDAT", zlib.compress(b"\x00" * 16, 9)) + chunk(b"IEND", b""))

    # bomb.png: real, complete 20000x20000 8-bit grayscale PNG, all zeros,
    # compressed streaming at zlib level 9 (decodes to 400,000,000 pixels).
    W = H = 20000
    comp = zlib.compressobj(9)
    row = b"\x00" * (W + 1)                 # filter byte 0 + 20000 zero pixels
    parts = []
    block = row * 100
    for _ in range(H // 100):
        parts.append(comp.compress(block))
    parts.append(comp.flush())
    idat = b"".join(parts)
    with open(B("bomb.png"), "wb") as f:
        f.write(PNG_SIG + ihdr(W, H, 8, 0))
        for i in range(0, len(idat), 65536):       # split into 64 KiB IDAT chunks
            f.write(chunk(b"IDAT", idat[i:i + 65536]))
        f.write(chunk(b"IEND", b""))

    # bad_crc.png: copy of solid_red_32x32.png with the last byte of the
    # IHDR CRC (file offset 32) XOR 0xFF.
    good = bytearray(open(P("solid_red_32x32.png"), "rb").read())
    assert good[12:16] == b"IHDR"
    good[32] ^= 0xFF
    with open(B("bad_crc.png"), "wb") as f:
        f.write(bytes(good))

    # corrupt_scan.jpg: baseline photo_160x120.jpg with 200 bytes in the middle
    # of the entropy-coded scan overwritten by 100 x (0xFF 0x00). Each stuffed
    # 0xFF00 pair decodes as eight 1-bits; long runs of 1-bits are not valid
    # Huffman codes, so the scan is corrupt (libjpeg: "Corrupt JPEG data:
    # bad Huffman code"); strict decoders fail, lenient ones show garbage.
    data = bytearray(jpeg_bytes)
    sos = data.find(b"\xff\xda")
    sos_len, = struct.unpack(">H", data[sos + 2:sos + 4])
    scan_start = sos + 2 + sos_len
    eoi = data.rfind(b"\xff\xd9")
    mid = (scan_start + eoi) // 2
    assert eoi - scan_start > 1000
    # align to avoid splitting an existing 0xFF00 pair before our run
    if data[mid - 1] == 0xFF:
        mid += 1
    data[mid:mid + 200] = b"\xff\x00" * 100
    with open(B("corrupt_scan.jpg"), "wb") as f:
        f.write(bytes(data))

    # zero_dims.jpg: photo_160x120.jpg with the SOF0 height and width set to 0
    data = bytearray(jpeg_bytes)
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    data[sof + 5:sof + 9] = b"\x00\x00\x00\x00"
    with open(B("zero_dims.jpg"), "wb") as f:
        f.write(bytes(data))

    # sanity: photo PNG equals its source pixels; exif tag present
    assert np.array_equal(np.array(Image.open(P("photo_160x120.png"))), np.array(photo160))
    assert Image.open(P("exif_orient6_160x120.jpg")).getexif().get(0x0112) == 6
    assert Image.open(P("exif_orient6_160x120.jpg")).size == (160, 120)

    for d in (IMAGES, BAD):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            print(f"{os.path.relpath(p, ROOT):50s} {os.path.getsize(p):8d} B")
    if not webp_ok:
        print("WARNING: Pillow has no WebP support; photo_64x48.webp not written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
