# mmstudio imports its commands and encoder backends by name (importlib), so collect every module,
# and its metadata (`mmstudio --info`, importlib.metadata). resources/ is added by the spec.
from PyInstaller.utils.hooks import collect_submodules, copy_metadata

hiddenimports = collect_submodules("mmstudio", filter=lambda name: not name.startswith("mmstudio.resources"))
datas = copy_metadata("mmstudio")
