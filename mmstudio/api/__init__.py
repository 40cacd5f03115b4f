"""The Python API, for notebooks and scripts: ``mmstudio.embed``, ``project``, ``align``, ``compare``,
``fuse``, ``train_aligner``, ``show`` and ``read_table``, reached as attributes of ``mmstudio``.

Each function runs what its command runs and returns what the command writes or prints as
``--json``. At the top of the layer graph beside ``cli`` (whose text formats and argument checks it
uses); nothing below imports it, and it opens the window only in another process. Heavy libraries
are imported inside the functions: ``import mmstudio`` stays cheap.
"""

from mmstudio.api.aligner import Aligner, train_aligner
from mmstudio.api.embedding import embed, read_table
from mmstudio.api.reports import Report, align, compare, fuse, project
from mmstudio.api.window import Window, show

__all__ = ["Aligner", "Report", "Window", "align", "compare", "embed", "fuse", "project", "read_table", "show",
           "train_aligner"]
