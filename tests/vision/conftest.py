"""Fixtures of the vision tests."""

import pytest


@pytest.fixture(params=["cv2", "pil"])
def backend(request, monkeypatch):
    """Run with OpenCV, then with Pillow, as the decoder."""
    from distnet.image import _codec

    pytest.importorskip("cv2" if request.param == "cv2" else "PIL")
    monkeypatch.setenv("DISTNET_IMAGE_BACKEND", request.param)
    monkeypatch.setattr(_codec, "_BACKEND", [])
    return request.param
