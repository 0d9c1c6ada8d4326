"""The C engine is built wherever it can be (setup.py makes it optional, so a failed build would
otherwise only show as a tenfold slower listening matcher)."""

from __future__ import annotations

import os
import shutil
import sysconfig

import pytest

from sokhan.listening.matcher import c_engine_available


def test_the_c_engine_is_built_where_a_compiler_and_headers_exist() -> None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    if not (shutil.which(compiler) or shutil.which("cc")) or not os.path.exists(headers):
        pytest.skip("no C compiler or Python headers here: the pure-Python engine is expected")
    assert c_engine_available(), "sokhan.listening._scan did not build: rerun scripts/bootstrap.sh, read pip's output"
