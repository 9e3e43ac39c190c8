"""The device side's C sources (the frame encoder, the example firmware), shipped as package data."""
