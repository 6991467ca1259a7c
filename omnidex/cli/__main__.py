"""``python -m omnidex.cli``: the ``omnidex`` command."""

from omnidex.cli import main

main()
