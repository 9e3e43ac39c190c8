"""edge-har: human-activity recognition from accelerometer data to a microcontroller."""

__version__ = "0.1.0"
