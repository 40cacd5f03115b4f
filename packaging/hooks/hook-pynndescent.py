# pynndescent: numba functions compiled with cache=True need their source file (pyz+py).
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("pynndescent", filter=lambda name: ".tests" not in name)
datas = copy_metadata("pynndescent") + collect_data_files("pynndescent", excludes=["**/__pycache__/**"])
module_collection_mode = "pyz+py"
