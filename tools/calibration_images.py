"""Write clean calibration images for the shipped models' squeeze thresholds: the LAST 1000
images of the Fashion-MNIST training split (the test split is kept for fixtures and accuracy),
as 8-bit grey PNGs, and the same images colourised as the fashion-rgb training data was
(tools/colourise.py, training colour seed 1, colours of the full training stream), each set with a
labels.json (class index per image, in file order) for squeezer selection.

    /usr/bin/python3 tools/calibration_images.py OUT_DIR

Writes OUT_DIR/grey/NNNN.png, OUT_DIR/rgb/NNNN.png and OUT_DIR/{grey,rgb}/labels.json; tools/calibrate_shipped.ts reads them.
"""

import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from colourise import colourise  # noqa: E402
from fashion_idx import load_split  # noqa: E402

COUNT = 1000
COLOUR_SEED_TRAIN = 1  # as tools/train_models.py


def main() -> None:
    out = Path(sys.argv[1])
    images, labels = load_split("train")
    rgb = colourise(images, COLOUR_SEED_TRAIN)[-COUNT:]
    grey = images[-COUNT:]
    for sub, data, mode in (("grey", grey, "L"), ("rgb", rgb, "RGB")):
        (out / sub).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(data):
            Image.fromarray(image, mode).save(out / sub / f"{i:04d}.png")
        (out / sub / "labels.json").write_text(json.dumps([int(v) for v in labels[-COUNT:]]) + "\n")
    print(f"wrote {COUNT} grey and {COUNT} RGB calibration images to {out}")


if __name__ == "__main__":
    main()
