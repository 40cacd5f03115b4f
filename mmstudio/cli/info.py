"""``mmstudio --info``: versions, devices and the cache (:mod:`mmstudio.encoders.sysinfo`)."""

from __future__ import annotations


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from mmstudio.encoders.sysinfo import lines

    for key, value in lines():
        print(f"{key:<13} {value}")
    return 0
