# safetensors: metadata (transformers checks the version), data files, and safetensors.torch,
# which mmstudio imports inside functions (other frameworks' modules are left out).
from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

hiddenimports = collect_submodules("safetensors", filter=lambda name: name in ("safetensors", "safetensors.torch",
                                                                             "safetensors.numpy"))
datas = copy_metadata("safetensors") + collect_data_files("safetensors", excludes=["**/__pycache__/**"])
