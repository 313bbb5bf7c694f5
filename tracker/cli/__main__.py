"""``python -m tracker.cli``: the same as the ``tracker`` command."""

from tracker.cli import main

main()
