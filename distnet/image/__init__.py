"""``mx.image``: decoding, resizing, cropping, augmenters and ImageIter (needs Pillow:
``pip install 'distnet[image]'``)."""
