"""ImageFolderDataset: one sub-folder per class, image files inside."""

import os
import warnings

from ..dataset import Dataset


class ImageFolderDataset(Dataset):
    """Images stored as ``root/<class name>/<file>``; labels number the class folders in
    sorted order.

    Parameters
    ----------
    root : str
        The folder holding one sub-folder per class.
    flag : {0, 1}, default 1
        0: read images as grey (H, W, 1); 1: as RGB (H, W, 3).
    transform : callable, optional
        ``transform(data, label) -> sample``.

    Attributes
    ----------
    synsets : list of str
        Class names; ``synsets[i]`` is the name of label ``i``.
    items : list of (str, int)
        Every image as ``(file path, label)``.
    """

    _exts = (".jpg", ".jpeg", ".png")

    def __init__(self, root, flag=1, transform=None):
        self._root = os.path.expanduser(root)
        self._flag = flag
        self._transform = transform
        self._list_images(self._root)

    def _list_images(self, root):
        self.synsets = []
        self.items = []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn(f"Ignoring {path}, which is not a directory.", stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn(
                        f"Ignoring {filename} of type {ext}. Only support {', '.join(self._exts)}"
                    )
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx):
        from ....ndarray import NDArray
        from ._imageio import imread

        path, label = self.items[idx]
        img = NDArray(imread(path, self._flag))
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self):
        return len(self.items)
