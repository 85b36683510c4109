#!/usr/bin/python3
"""Write the screenshot-like images of samples/ScreenshotText/assets/ (one upside down, one with placeholder text).

    /usr/bin/python3 tools/samples/make_screenshot_samples.py

Each is a 640x480 app screen: a coloured title bar and a few lines of DejaVu Sans (Debian fonts-dejavu-core) on white
or tinted panels, saved as PNG (8-bit RGB). "upside down" is the same rendering turned by 180 degrees (a screenshot
saved the wrong way round). Deterministic; the project's own (MIT).
"""
import os
import sys

from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "samples", "ScreenshotText", "assets")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# file -> (title, lines, upside down)
SCREENS = {
    "login.png": ("Sign in", ["Email address", "Password", "Forgot your password?"], False),
    "settings.png": ("Settings", ["Dark mode", "Notifications", "Language: English"], False),
    "checkout.png": ("Checkout", ["Total: 42.50 EUR", "Lorem ipsum dolor sit amet", "Pay now"], False),
    "profile.png": ("Profile", ["Ada Lovelace", "Member since 2024", "Edit profile"], True),
}
PANELS = [(225, 235, 250), (235, 250, 230), (255, 243, 205)]


def render(title, lines):
    im = Image.new("RGB", (640, 480), (250, 250, 250))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 639, 56], fill=(40, 60, 110))
    d.text((20, 12), title, fill=(255, 255, 255), font=ImageFont.truetype(BOLD, 26))
    font = ImageFont.truetype(FONT, 24)
    y = 96
    for k, text in enumerate(lines):
        left, top, right, bottom = font.getbbox(text)
        d.rectangle([14, y - 10, 40 + right, y + bottom - top + 10], fill=PANELS[k % len(PANELS)])
        d.text((26 - left, y - top), text, fill=(24, 24, 32), font=font)
        y += 72
    return im


def main():
    for f in (FONT, BOLD):
        if not os.path.exists(f):
            print(f"{f} is missing: apt-get install fonts-dejavu-core", file=sys.stderr)
            return 1
    os.makedirs(OUT, exist_ok=True)
    for name, (title, lines, flipped) in SCREENS.items():
        im = render(title, lines)
        if flipped:
            im = im.transpose(Image.Transpose.ROTATE_180)
        im.save(os.path.join(OUT, name), "PNG", optimize=True)
        print(f"{name:14s} {'upside down' if flipped else 'upright':11s} {[title] + lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
