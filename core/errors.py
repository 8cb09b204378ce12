"""Errors the codec raises. Each carries a one-line message fit to show a user as is."""


class WcsError(Exception):
    """Base class: anything the CLI or app should report as a clear message, not a traceback."""


class ImageError(WcsError):
    """An input image could not be read or converted."""


class BitstreamError(WcsError):
    """A .wcs file is not one we can decode."""


class WrongMagicError(BitstreamError):
    pass


class UnknownVersionError(BitstreamError):
    pass


class TruncatedError(BitstreamError):
    pass


class CrcMismatchError(BitstreamError):
    pass


class LatentCheckError(BitstreamError):
    """The entropy decoder produced symbols that differ from what the encoder coded."""


class WeightsMissingError(WcsError):
    """The weights a variant or a bitstream needs are not installed."""


class CancelledError(WcsError):
    """The caller cancelled a running encode or decode."""


class DeviceError(WcsError):
    """The requested device is unavailable or ran out of memory."""
