"""``mx.image``: decoding, resizing, cropping, MXNet's augmenters and ImageIter.

Decoding needs Pillow (``pip install 'distnet[image]'``); without it the first decode
raises an MXNetError naming that extra.
"""

from .image import *  # noqa: F401,F403
from .augmenters import *  # noqa: F401,F403
from .image_iter import ImageIter  # noqa: F401
