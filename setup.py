# What pre-commit installs for the `bentoray-check` hook (`language: python`,
# see .pre-commit-hooks.yaml): an empty package that requires the binary
# wheel built from packaging/pypi/, so installing the hook compiles nothing
# (typos and committed ship their hooks the same way). BENTORAY_VERSION is
# Cargo.toml's version; tests/packaging.rs keeps them equal.
from setuptools import setup

BENTORAY_VERSION = "0.1.0"

setup(
    name="bentoray-pre-commit-placeholder",
    version="0.0.0",
    install_requires=[f"bentoray=={BENTORAY_VERSION}"],
    packages=[],
    py_modules=[],
)
