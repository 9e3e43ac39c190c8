"""`python -m edge_har COMMAND`: the console script, where none is installed (a checkout on PYTHONPATH)."""

from .cli import run

run()
