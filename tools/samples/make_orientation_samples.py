#!/usr/bin/python3
"""Write the text-line photos of samples/TextOrientation/assets/ (some upright, some upside down).

    /usr/bin/python3 tools/samples/make_orientation_samples.py

Each line is rendered with DejaVu Sans 30 px (Debian fonts-dejavu-core), dark on a light, slightly tinted card,
and saved as PNG (8-bit RGB). "Upside down" files are the same rendering rotated by 180 degrees: what a scanner
or a phone camera produces when a label is fed in the wrong way. Deterministic; the project's own (MIT).
"""
import os
import sys

from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "samples", "TextOrientation", "assets")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# relative path -> (text, rotated by 180 degrees)
LINES = {
    "labels/shipping.png": ("Ship to: Berlin", False),
    "labels/fragile.png": ("FRAGILE glass", True),
    "receipts/total.png": ("Total 128.50", False),
    "receipts/invoice.png": ("Invoice 0042", True),
    "titles/chapter.png": ("Chapter one", False),
}


def render(text):
    font = ImageFont.truetype(FONT, 30)
    left, top, right, bottom = font.getbbox(text)
    w, h = right - left + 24, 48
    im = Image.new("RGB", (w, h), (246, 244, 236))
    ImageDraw.Draw(im).text((12 - left, (h - (bottom - top)) // 2 - top), text, fill=(24, 24, 32), font=font)
    return im


def main():
    if not os.path.exists(FONT):
        print(f"{FONT} is missing: apt-get install fonts-dejavu-core", file=sys.stderr)
        return 1
    for rel, (text, flipped) in LINES.items():
        im = render(text)
        if flipped:
            im = im.transpose(Image.Transpose.ROTATE_180)
        path = os.path.join(OUT, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        im.save(path, "PNG", optimize=True)
        print(f"{rel:24s} {im.size[0]}x{im.size[1]}  {'upside down' if flipped else 'upright':11s} {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
