#!/usr/bin/env python3
"""Prints variant_expectations.inc from the reference.

Usage: LCLIP_IMAGE_TEST_DUMP_DIR=DIR test_image_preprocess; then
       python3 pillow_variant_expectations.py DIR > variant_expectations.inc

Each dumped file goes through what the reference does (Pillow 9.4):
Image.open, resize of the shorter side to 6 with BICUBIC in the decoded
mode, centre crop 5 with round-half-even offsets, convert("RGB"). The 5 x 5
RGB bytes are printed as hex next to the variant's parameters, which are
read back from the existing table so that the order stays the same.
"""
import os
import re
import sys
import warnings

from PIL import Image

# Palette files with tRNS make convert("RGB") warn; the pixels are the point.
warnings.simplefilter("ignore")

RESIZE, CROP = 6, 5


def reference_crop(path):
    im = Image.open(path)
    w, h = im.size
    if w <= h:
        size = (RESIZE, int(RESIZE * h / w))
    else:
        size = (int(RESIZE * w / h), RESIZE)
    im = im.resize(size, Image.BICUBIC)
    left = int(round((size[0] - CROP) / 2.0))
    top = int(round((size[1] - CROP) / 2.0))
    return im.crop((left, top, left + CROP, top + CROP)).convert("RGB").tobytes()


def main():
    dump_dir = sys.argv[1]
    table = os.path.join(os.path.dirname(os.path.abspath(__file__)), "variant_expectations.inc")
    text = open(table).read()
    header, _, _ = text.partition('{"')
    sys.stdout.write(header)
    for m in re.finditer(r'\{"(\w+)", (\d), ([^\n]*),\n "[0-9a-f]*"\},', text):
        name, is_jpeg, params = m.group(1), m.group(2), m.group(3)
        path = os.path.join(dump_dir, name + (".jpg" if is_jpeg == "1" else ".png"))
        sys.stdout.write('{"%s", %s, %s,\n "%s"},\n' % (name, is_jpeg, params, reference_crop(path).hex()))


if __name__ == "__main__":
    main()
