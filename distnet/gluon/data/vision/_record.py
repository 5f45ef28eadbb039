"""Data sets over RecordIO files: RecordFileDataset (raw records) and
ImageRecordDataset (decoded images with their labels)."""

import os

from ....base import MXNetError
from ..dataset import Dataset


class RecordFileDataset(Dataset):
    """The records of ``filename`` (a .rec file with its .idx beside it), as bytes.

    Picklable: DataLoader workers reopen the file in their own process.
    """

    def __init__(self, filename):
        from .... import recordio

        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        if not os.path.exists(self.idx_file):
            raise MXNetError(
                f"RecordFileDataset: {self.idx_file} (the index of {filename}) "
                "does not exist; make it with scripts/im2rec.py or "
                "MXIndexedRecordIO"
            )
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)


class ImageRecordDataset(RecordFileDataset):
    """Images packed in a RecordIO file (by im2rec or ``recordio.pack_img``).

    A sample is ``(image, label)``: the image a uint8 NDArray (H, W, 3) RGB for
    ``flag=1`` or (H, W, 1) grey for ``flag=0``; the label a float, or a float32 array
    for records packed with several labels.

    Parameters
    ----------
    filename : str
        The .rec file (its .idx must be beside it).
    flag : {0, 1}, default 1
        Grey or colour.
    transform : callable, optional
        ``transform(image, label) -> sample``.
    """

    def __init__(self, filename, flag=1, transform=None):
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        from .... import image, recordio

        header, img = recordio.unpack(super().__getitem__(idx))
        data = image.imdecode(img, self._flag)
        if self._transform is not None:
            return self._transform(data, header.label)
        return data, header.label
