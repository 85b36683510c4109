#!/usr/bin/python3
"""Render the OCR test set with its ground truth: tests/TestData/ocr/*.png and truth.json.

    /usr/bin/python3 tools/testdata/make_ocr_testset.py

24 screenshot-like 640x480 RGB PNGs: a title bar and 3-5 lines of text per image, in DejaVu fonts (Debian
fonts-dejavu-core / fonts-dejavu-extra: Sans, Sans Bold, Serif, Mono, Sans Condensed) at 16-30 px, on white, grey
and tinted panels, some with a strip of photo-like noise and gradient. Images 20-23 are the same kind of rendering
turned by 180 degrees (a screenshot saved upside down). truth.json lists each file's lines top to bottom, and whether
it is upside down. Every character is in PaddleOCR's ppocr_keys_v1.txt (checked). Deterministic (seeded); the
project's own (MIT).
"""
import json
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "TestData", "ocr")
KEYS = os.path.join(ROOT, "samples", "ScreenshotText", "models", "ppocr_keys_v1.txt")
FONTS = "/usr/share/fonts/truetype/dejavu/"
FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf"]

TITLES = ["Settings", "Account overview", "Invoice 2041", "Release notes", "Order summary", "Build report",
          "Welcome back", "Shipping details", "Project status", "Monthly usage", "Security check", "Team members"]
WORDS = ("open save export print close search filter report total amount price order status ready pending failed "
         "update version network storage memory window preview profile billing payment address city street "
         "cloud server client backup restore device camera photo upload download monday friday morning").split()


def line_text(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {rng.randrange(10, 9999)}"
    if kind == 1:
        return f"Total: {rng.randrange(1, 999)}.{rng.randrange(10, 99)} EUR"
    if kind == 2:
        return f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {rng.choice(WORDS)}"
    if kind == 3:
        return f"ID {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)} {rng.choice(WORDS)}"
    return f"{rng.randrange(1, 28):02d}/{rng.randrange(1, 12):02d}/2026 {rng.choice(WORDS)}"


def render(index, rng):
    bg = rng.choice([(255, 255, 255), (246, 246, 246), (250, 247, 240)])
    im = Image.new("RGB", (640, 480), bg)
    d = ImageDraw.Draw(im)
    bar = rng.choice([(40, 60, 110), (30, 110, 80), (120, 40, 60), (60, 60, 60)])
    d.rectangle([0, 0, 639, 56], fill=bar)
    title = TITLES[index % len(TITLES)]
    d.text((20, 12), title, fill=(255, 255, 255), font=ImageFont.truetype(FONTS + "DejaVuSans-Bold.ttf", 26))
    lines = [title]
    if index % 3 == 0:
        # A strip of photo-like content: a gradient with noise, no text.
        for x in range(420, 620):
            for y in range(80, 200, 2):
                v = (x * 3 + y * 2 + rng.randrange(40)) % 256
                d.line([(x, y), (x, y + 1)], fill=(v, (v * 7) % 256, 255 - v))
    y = 80
    width = 380 if index % 3 == 0 else 600
    count = rng.randrange(3, 6)
    for k in range(count):
        face = FACES[(index + k) % len(FACES)]
        size = rng.choice([16, 18, 20, 22, 24, 28, 30])
        font = ImageFont.truetype(FONTS + face, size)
        text = line_text(rng)
        while font.getlength(text) > width - 30:
            text = text.rsplit(" ", 1)[0]
        panel = rng.choice([None, (225, 235, 250), (235, 250, 230), (255, 243, 205), (238, 238, 238)])
        left, top, right, bottom = font.getbbox(text)
        h = bottom - top
        if panel:
            d.rectangle([14, y - 8, 14 + right + 22, y + h + 8], fill=panel)
        ink = rng.choice([(20, 20, 20), (40, 40, 90), (70, 20, 20)])
        d.text((25 - left, y - top), text, fill=ink, font=font)
        lines.append(text)
        y += h + rng.randrange(30, 48)
        if y > 440:
            break
    return im, lines


def main():
    for face in FACES:
        if not os.path.exists(FONTS + face):
            print(f"{FONTS + face} is missing: apt-get install fonts-dejavu-core fonts-dejavu-extra", file=sys.stderr)
            return 1
    keys = set(open(KEYS, encoding="utf-8").read().split("\n")) | {" "}
    rng = random.Random(20261207)
    os.makedirs(OUT, exist_ok=True)
    truth = []
    for i in range(24):
        im, lines = render(i, rng)
        flipped = i >= 20
        if flipped:
            im = im.transpose(Image.Transpose.ROTATE_180)
        missing = {c for line in lines for c in line} - keys
        if missing:
            print(f"characters not in the dictionary: {missing}", file=sys.stderr)
            return 1
        name = f"screen{i:02d}.png"
        im.save(os.path.join(OUT, name), "PNG", optimize=True)
        truth.append({"file": name, "upsideDown": flipped, "lines": lines})
    with open(os.path.join(OUT, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(truth)} images, {sum(len(t['lines']) for t in truth)} lines -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
