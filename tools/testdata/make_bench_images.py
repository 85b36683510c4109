#!/usr/bin/python3
"""Write <count> distinct 640x480 JPEGs (quality 90) for benchmarks.

    /usr/bin/python3 tools/testdata/make_bench_images.py <outdir> <count>

Images are varied crops / scales / flips of scikit-image's public-domain
(CC0 / NASA / SpaceX public-domain) sample photos. Deterministic for a given
count (seeded RNG). Not run in CI; do not commit the output.
"""
import os
import sys

import numpy as np
from PIL import Image, ImageOps

W, H = 640, 480
SOURCES = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg",
           "hubble_deep_field.jpg", "retina.jpg"]


def skimage_data_dir():
    try:
        import skimage.data
        return os.path.dirname(skimage.data.__file__)
    except ImportError:
        return "/usr/lib/python3/dist-packages/skimage/data"


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    outdir, count = argv[1], int(argv[2])
    os.makedirs(outdir, exist_ok=True)
    d = skimage_data_dir()
    # Without scikit-image, the same photos as samples/TextDetection keeps them (JPEG copies).
    samples = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "TextDetection", "assets")
    paths = [os.path.join(d, s) if os.path.exists(os.path.join(d, s))
             else os.path.join(samples, os.path.splitext(s)[0] + ".jpg") for s in SOURCES]
    photos = [Image.open(p).convert("RGB") for p in paths if os.path.exists(p)]
    if not photos:
        sys.exit("no source photos: install python3-skimage or keep samples/TextDetection/assets")
    rng = np.random.RandomState(1234)
    width = max(4, len(str(count - 1)))
    for i in range(count):
        src = photos[i % len(photos)]
        sw, sh = src.size
        # scale so the source covers at least 640x480, times a random zoom 1.0..2.5
        base = max(W / sw, H / sh)
        zoom = base * rng.uniform(1.0, 2.5)
        im = src.resize((max(W, round(sw * zoom)), max(H, round(sh * zoom))), Image.BILINEAR)
        x0 = rng.randint(0, im.size[0] - W + 1)
        y0 = rng.randint(0, im.size[1] - H + 1)
        im = im.crop((x0, y0, x0 + W, y0 + H))
        if rng.rand() < 0.5:
            im = ImageOps.mirror(im)
        if rng.rand() < 0.25:
            im = ImageOps.flip(im)
        im.save(os.path.join(outdir, f"bench_{i:0{width}d}.jpg"), "JPEG", quality=90)
    print(f"wrote {count} images of {W}x{H} to {outdir}")


if __name__ == "__main__":
    main(sys.argv)
