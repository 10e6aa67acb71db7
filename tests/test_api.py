import subprocess
import sys

import poetvae


def test_every_public_name_resolves():
    for name in poetvae.__all__:
        assert getattr(poetvae, name) is not None, name


def test_import_is_cheap():
    code = "import sys, poetvae; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
