"""Models the course provides to students (they use them, they do not write them)."""
from .unet import UNet

__all__ = ["UNet"]
