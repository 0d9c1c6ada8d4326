"""Build the listening matcher's C extension (sokhan.listening._scan); the project's metadata is in
pyproject.toml. ``optional``: without a C compiler and Python's headers the install still succeeds,
and the matcher uses its pure-Python engine (docs/listening.md, "Speed")."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "sokhan.listening._scan",
            ["src/sokhan/listening/_scan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
