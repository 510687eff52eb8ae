"""Package discovery for the layout where ``backends/`` and ``frontends/`` install as ``graphdl.*``."""

from setuptools import find_packages, setup


def packages_under(package: str, folder: str) -> list[str]:
    return [package] + [f"{package}.{sub}" for sub in find_packages(folder)]


setup(
    packages=packages_under("graphdl", "graphdl")
    + packages_under("graphdl.backends", "backends")
    + packages_under("graphdl.frontends", "frontends"),
)
