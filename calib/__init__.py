"""calib: measured speed and accuracy of a model at each numeric precision, on this machine."""

__version__ = "0.1.0"
