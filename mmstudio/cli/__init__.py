"""The ``mmstudio`` commands; each module has ``add_arguments(parser)`` and ``run(args)``.

May import everything below the top (``analysis``, ``export``, ``demo``, ``encoders``, ``core``);
``ui`` only to open the window or take a screenshot of it (``cli.screenshot``).
"""
