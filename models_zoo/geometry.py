"""Crop geometry shared by the PIL path (inference) and the device path (device_decode)."""

from __future__ import annotations

from models_zoo.registry import Preprocessing

# Interpolations by name (Preprocessing.interpolation): torch's, and PIL's for those torch lacks.
TORCH_MODES = {"bicubic": "bicubic", "bilinear": "bilinear", "nearest": "nearest-exact"}


Geometry = tuple[int, float, str]


def geometry_key(geometry: Geometry) -> str:
    return "{}-{}-{}".format(*geometry)


def resized_geometry(width: int, height: int, preprocessing: Preprocessing) -> tuple[int, int, int, int]:
    """(resized width, resized height, crop left, crop top) of "resize the shorter side to resize_to, then
    centre-crop input_size", computed as torchvision's Resize and CenterCrop do (timm's eval transform)."""
    resize_to = preprocessing.resize_to
    short, long = sorted((width, height))
    resized_long = int(resize_to * long / short)
    resized_w, resized_h = (resize_to, resized_long) if width <= height else (resized_long, resize_to)
    size = preprocessing.input_size
    return resized_w, resized_h, round((resized_w - size) / 2.0), round((resized_h - size) / 2.0)
