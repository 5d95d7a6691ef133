"""``lokitalk validate DIR`` prints OK or every problem, with exit code 0 or 1."""

from __future__ import annotations

import numpy as np
from folder_helpers import first_img_id

from lokitalk_plugins.cli import main


def test_ok_folder(studio_folder, capsys):
    assert main(["validate", str(studio_folder), "--quiet"]) == 0
    out = capsys.readouterr().out
    n = np.load(studio_folder / "aud.npy").shape
    assert out.startswith("OK: ")
    assert f"audio [{n[0]}, 16, {n[2]}]" in out


def test_broken_folder_lists_problems(folder_copy, capsys):
    i = first_img_id(folder_copy)
    (folder_copy / f"parsing/{i}.png").unlink()
    (folder_copy / "bc.jpg").unlink()
    code = main(["validate", str(folder_copy), "--quiet", "--eye-source", "au45"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"parsing/{i}.png" in out and "bc.jpg" in out
    assert "au.csv" in out or (folder_copy / "au.csv").exists()


def test_audio_file_option(folder_copy, capsys):
    n = np.load(folder_copy / "aud.npy").shape[0]
    np.save(folder_copy / "aud_hu.npy", np.zeros((n, 2, 1024), np.float32))
    assert main(["validate", str(folder_copy), "--quiet", "--audio-file", "aud_hu.npy"]) == 0
    assert f"audio HuBERT [{n}, 2, 1024]" in capsys.readouterr().out
    assert main(["validate", str(folder_copy), "--quiet", "--audio-file", "aud_x.npy"]) == 1
    assert "aud_x.npy" in capsys.readouterr().out


def test_command_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, lokitalk_plugins.data.validate_command; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
