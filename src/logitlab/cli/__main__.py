"""``python -m logitlab.cli``: the command line."""

from .main import main

main()
