#!/usr/bin/python3
"""Write the demo photos in samples/TextDetection/assets/ from scikit-image's bundled sample data.

    /usr/bin/python3 tools/testdata/make_sample_images.py

JPEG quality 90, at most 640 px on the long side (LANCZOS downscale, never
upscaled). Deterministic. Sources and licences: samples/TextDetection/assets/README.md.
"""
import os
import sys

from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "samples", "TextDetection", "assets")
MAX_SIDE = 640

# output name -> skimage data file
SOURCES = {
    "astronaut.jpg": "astronaut.png",
    "coffee.jpg": "coffee.png",
    "chelsea.jpg": "chelsea.png",
    "rocket.jpg": "rocket.jpg",
    "hubble_deep_field.jpg": "hubble_deep_field.jpg",
    "text.jpg": "text.png",          # grayscale, handwritten maths on paper
    "page.jpg": "page.png",          # grayscale scan of a printed page (OCR demo)
}

# A rendered text image (the project's own; font: DejaVu Sans, if installed).
RENDERED_TEXT = [
    "ImageFlowIO sample text",
    "Invoice 2024-0042   Total: 128.50 EUR",
    "The quick brown fox jumps over the lazy dog.",
    "0123456789  ABCDEFGHIJKLM  nopqrstuvwxyz",
]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def skimage_data_dir():
    try:
        import skimage.data
        return os.path.dirname(skimage.data.__file__)
    except ImportError:
        return "/usr/lib/python3/dist-packages/skimage/data"


def main():
    os.makedirs(OUT, exist_ok=True)
    d = skimage_data_dir()
    for out, src in SOURCES.items():
        im = Image.open(os.path.join(d, src)).convert("RGB")
        w, h = im.size
        s = min(1.0, MAX_SIDE / max(w, h))
        if s < 1.0:
            im = im.resize((round(w * s), round(h * s)), Image.LANCZOS)
        p = os.path.join(OUT, out)
        im.save(p, "JPEG", quality=90, optimize=True)
        print(f"{out:24s} {im.size[0]}x{im.size[1]}  {os.path.getsize(p)} B  (from skimage {src} {w}x{h})")
    if os.path.exists(FONT):
        from PIL import ImageDraw, ImageFont
        font = ImageFont.truetype(FONT, 28)
        im = Image.new("RGB", (640, 256), (250, 248, 240))
        draw = ImageDraw.Draw(im)
        for i, line in enumerate(RENDERED_TEXT):
            draw.text((24, 24 + i * 56), line, fill=(20, 20, 30), font=font)
        p = os.path.join(OUT, "text_rendered.jpg")
        im.save(p, "JPEG", quality=90, optimize=True)
        print(f"{'text_rendered.jpg':24s} 640x256  {os.path.getsize(p)} B  (rendered, DejaVu Sans)")
    else:
        print("NOTE: DejaVu Sans not found; text_rendered.jpg not written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
