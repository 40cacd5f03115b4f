"""Headless commands of ``mmstudio``; each module has ``add_arguments(parser)`` and ``run(args)``."""
