"""Exit cameras and the head-portrait extractor that turns a burst into a small JPEG."""

from drivers.camera.base import Camera, CaptureTiming, Frame, check_image
from drivers.camera.factory import CameraURLError, open_camera
from drivers.camera.opencv_camera import CaptureSource, OpenCVCamera, SourceKind
from drivers.camera.portrait import Portrait, PortraitError, PortraitSettings, extract_portrait, preload_detector
from drivers.camera.simulated import SimCamera, SimScene

__all__ = [
    "Camera",
    "CameraURLError",
    "CaptureSource",
    "CaptureTiming",
    "Frame",
    "OpenCVCamera",
    "Portrait",
    "PortraitError",
    "PortraitSettings",
    "SimCamera",
    "SimScene",
    "SourceKind",
    "check_image",
    "extract_portrait",
    "open_camera",
    "preload_detector",
]
