"""A generated image-folder dataset of known difficulty: shapes (circles, squares, triangles) on noise.

It needs no network and no stored files: the same seed draws the same images on every machine, so tests,
benchmarks and users can make a folder in the layout ``automl run --data FOLDER`` reads
(``FOLDER/<class>/<n>.png``), and ``automl bench --suite images`` draws them as arrays. Difficulty is set by
the noise: at ``noise=0`` a shape is plain to see and any reasonable network separates the classes; as the
noise grows towards the shapes' own contrast the classes blur.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHAPES = ("circle", "square", "triangle")


def shape_image(shape: str, size: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """One ``size`` x ``size`` grayscale image (uint8) of ``shape`` at a random place and scale, plus noise."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), color=0)
    draw = ImageDraw.Draw(image)
    side = rng.uniform(0.45, 0.8) * size
    left, top = rng.uniform(0, size - side, size=2)
    box = (left, top, left + side, top + side)
    if shape == "circle":
        draw.ellipse(box, fill=255)
    elif shape == "square":
        draw.rectangle(box, fill=255)
    else:
        draw.polygon([(left, top + side), (left + side, top + side), (left + side / 2, top)], fill=255)
    pixels = np.asarray(image, dtype=np.float64) / 255.0
    pixels = pixels + rng.normal(scale=noise, size=pixels.shape)
    return (np.clip(pixels, 0.0, 1.0) * 255).round().astype(np.uint8)


def shape_images(per_class: int, size: int = 16, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` images of each shape as uint8 ``(N, size, size)``, shape by shape, and their shape names."""
    rng = np.random.default_rng(seed)
    images = [shape_image(shape, size, rng, noise) for shape in SHAPES for _ in range(per_class)]
    return np.stack(images), np.repeat(np.asarray(SHAPES), per_class)


def write_shape_folder(folder: Path, per_class: int, size: int = 16, noise: float = 0.2, seed: int = 0,
                       classes: bool = True) -> Path:  # fmt: skip
    """Write :func:`shape_images` as PNGs to ``folder/<shape>/<n>.png`` (``classes=False``: all in ``folder``
    itself, as new images to predict); returns ``folder``."""
    from PIL import Image

    images, shapes = shape_images(per_class, size, noise, seed)
    for number, (pixels, shape) in enumerate(zip(images, shapes, strict=True)):
        index = number % per_class
        where = folder / shape if classes else folder
        where.mkdir(parents=True, exist_ok=True)
        name = f"{index:04d}.png" if classes else f"{shape}-{index:04d}.png"
        Image.fromarray(pixels, mode="L").save(where / name)
    return folder
