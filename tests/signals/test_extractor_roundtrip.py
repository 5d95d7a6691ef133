"""The real-data round trip: a folder whose features come from an extractor -> lokitalk
train records the extractor -> lokitalk render --audio new.wav computes the same features."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from audio_helpers import speech

from lokitalk_plugins.cli import build_parser, main
from lokitalk_plugins.commands.workspace import featurizer_of
from lokitalk_plugins.data.folder import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.signals.extract import extract_features
from lokitalk_plugins.signals.extractors import ExtractorError
from lokitalk_plugins.train.drive import drive


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_wav2vec):
    data = write_identity(tmp_path_factory.mktemp("rt") / "id000", seconds=1.0, size=32, seed=0)
    feats = extract_features(data / "aud.wav", f"wav2vec@{tiny_wav2vec}", progress=False)
    np.save(data / "aud_eo.npy", feats)  # what RAD-NeRF's nerf/asr.py names it
    return data


def _train_args(folder, ws, steps: int) -> list[str]:
    return [
        "train", "--config", "configs/er_nerf.gin", "--config", "configs/studio_quick.gin",
        "--data", str(folder), "--workspace", str(ws), "--quiet",
        "--bind", "TalkingHeadFolder.audio_file = 'aud_eo.npy'",
        "--bind", "ERNeRF.audio_in_dim = 44", "--bind", f"head/Trainer.steps = {steps}",
        "--bind", "Trainer.val_every = 10", "--bind", "ERNeRF.grid_size = 32",
        "--bind", "TalkingHeadSystem.num_rays = 256",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def workspace(folder, tiny_wav2vec, tmp_path_factory):
    ws = tmp_path_factory.mktemp("rt") / "run"
    code = main([*_train_args(folder, ws, 10), "--audio-extractor", f"wav2vec@{tiny_wav2vec}"])
    assert code == 0
    return ws


@pytest.mark.slow
def test_resume_keeps_the_recorded_extractor(folder, workspace, tiny_wav2vec, tmp_path):
    ws = tmp_path / "run"
    shutil.copytree(workspace, ws)
    # without --audio-extractor the file name alone would say "wav2vec" (the Esperanto model)
    assert featurizer_of(folder, "aud_eo.npy") == "wav2vec"
    assert main([*_train_args(folder, ws, 12), "--resume"]) == 0
    run = json.loads((ws / "run.json").read_text())
    assert run["featurizer"] == f"wav2vec@{tiny_wav2vec}"


def _frames(path) -> int:
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)
    return sum(1 for _ in reader)


@pytest.mark.slow
def test_render_featurises_a_new_wav_with_the_recorded_extractor(workspace, tiny_wav2vec,
                                                                 tmp_path, capsys):  # fmt: skip
    run = json.loads((workspace / "run.json").read_text())
    assert run["featurizer"] == f"wav2vec@{tiny_wav2vec}"
    wav = speech(tmp_path / "new.wav", 0.8, sr=44100, channels=2)  # any rate, stereo
    out = tmp_path / "talk.mp4"
    args = ["render", "--workspace", str(workspace), "--quiet", "--audio", str(wav)]
    assert main([*args, "--out", str(out)]) == 0
    assert _frames(out) == 20  # 0.8 s: 39 logit frames at 50 Hz -> 20 windows
    # a mismatch with the recorded extractor, and a file that is not a WAV, are refused
    assert main([*args, "--out", str(tmp_path / "x.mp4"), "--extractor", "hubert"]) == 2
    mp3 = tmp_path / "new.mp3"
    mp3.write_bytes(b"ID3" + bytes(40))
    bad = ["render", "--workspace", str(workspace), "--quiet", "--audio", str(mp3)]
    assert main([*bad, "--out", str(tmp_path / "y.mp4")]) == 1
    out_lines = capsys.readouterr().out.splitlines()
    assert "is not wav2vec@" in out_lines[-2] and "cannot read as a PCM WAV" in out_lines[-1]
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "y.mp4").exists()


@pytest.mark.slow
def test_render_without_the_weights_fails_at_once(workspace, tiny_wav2vec, tmp_path, capsys):
    run_file = workspace / "run.json"
    run = json.loads(run_file.read_text())
    try:
        run_file.write_text(json.dumps({**run, "featurizer": "wav2vec"}))  # the Esperanto model
        wav = speech(tmp_path / "new.wav", 0.4)
        args = ["render", "--workspace", str(workspace), "--audio", str(wav), "--quiet"]
        assert main([*args, "--out", str(tmp_path / "z.mp4")]) == 1
        assert "hf download cpierse/wav2vec2-large-xlsr-53-esperanto" in capsys.readouterr().out
        assert not (tmp_path / "z.mp4").exists()
        # the same model's weights elsewhere: --model says where
        assert main([*args, "--out", str(tmp_path / "m.mp4"), "--model", str(tiny_wav2vec)]) == 0
        assert _frames(tmp_path / "m.mp4") == 10
    finally:
        run_file.write_text(json.dumps(run))


def test_the_folder_says_which_extractor_made_its_features(folder, tiny_wav2vec):
    assert featurizer_of(folder, "aud.npy") == "studio"  # the studio's log-mels of aud.wav
    assert featurizer_of(folder, "aud_eo.npy") == "wav2vec"  # RAD-NeRF's name and [N, 16, 44]
    given = f"wav2vec@{tiny_wav2vec}"
    assert featurizer_of(folder, "aud_eo.npy", given) == given
    with pytest.raises(ExtractorError, match=r"\[25, 16, 44\] cannot come from the hubert"):
        featurizer_of(folder, "aud_eo.npy", "hubert")


class AudioGrey(torch.nn.Module):
    @torch.no_grad()
    def render_frame(self, frame):
        level = torch.sigmoid(frame.audio.mean())
        return {"rgb": level.expand(frame.H, frame.W, 3).clone()}


def test_hubert_layout_loads_in_the_reader_and_drives(folder, tiny_hubert_1024, tmp_path):
    spec = f"hubert@{tiny_hubert_1024}"
    hubert = extract_features(speech(tmp_path / "long.wav", 1.2), spec, progress=False)
    assert hubert.shape == (29, 2, 1024)  # ((19200 - 80) // 320) // 2
    np.save(folder / "aud_hu.npy", hubert)
    data = TalkingHeadFolder(folder, split="train", audio_file="aud_hu.npy", progress=False)
    assert tuple(data.audio_features.shape) == (29, 1024, 2) and data[0].audio.shape == (8, 1024, 2)
    new = extract_features(speech(tmp_path / "new.wav", 0.5, sr=22050), spec, progress=False)
    out = list(drive(AudioGrey(), data, new, progress=False))
    assert len(out) == new.shape[0] == 12 and out[3][0].audio.shape == (8, 1024, 2)
    assert torch.equal(out[3][0].audio[4], torch.from_numpy(new[3]).T)  # window 3 of new audio


def test_er_nerf_hubert_one_row_short_is_read_as_the_original_does(folder, tiny_hubert_1024):
    """ER-NeRF's HuBERT of a clip's own aud.wav has a row fewer than the video has frames
    (1 s: (16000 - 80) // 320 = 49 frames, paired: 24 rows for 25 frames); its loader
    reuses the last row for the last frame, and so does the reader."""
    feats = extract_features(folder / "aud.wav", f"hubert@{tiny_hubert_1024}", progress=False)
    assert feats.shape == (24, 2, 1024)
    np.save(folder / "aud_hu_own.npy", feats)
    val = TalkingHeadFolder(folder, split="val", audio_file="aud_hu_own.npy", progress=False)
    last = val[len(val) - 1]
    assert last.aud_id == 24 and torch.equal(last.audio[4], torch.from_numpy(feats[23]).T)
    np.save(folder / "aud_hu_short.npy", feats[:23])  # two rows short: refused
    with pytest.raises(ValueError, match="23 audio rows but the largest aud_id is 24"):
        TalkingHeadFolder(folder, split="val", audio_file="aud_hu_short.npy", progress=False)


def test_readme_real_data_round_trip_commands(folder, tiny_hubert_1024):
    """The README's real-data commands: all parse; the features step runs as written (with
    the tiny model) and its output is what the train step's bindings read. (Training and
    rendering as written take hours; the round trip above runs them briefly.)"""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("### Real data")[1].split("```bash\n")[1].split("```")[0]
    cmds = [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines()]
    assert cmds[0][:3] == ["hf", "download", "facebook/hubert-large-ls960-ft"]
    assert [c[:2] for c in cmds[1:]] == [["lokitalk", c] for c in ("features", "train", "render")]
    parsed = [build_parser().parse_args(c[1:]) for c in cmds[1:]]
    assert parsed[0].extractor == "hubert" and parsed[2].audio == "speech.wav"
    here = [a.replace("data/obama", str(folder)) for a in cmds[1][1:]]
    assert main([*here, "--model", str(tiny_hubert_1024), "--quiet"]) == 0
    binding = dict(b.split(" = ") for b in parsed[1].bind)
    audio_file = binding["TalkingHeadFolder.audio_file"].strip("'")
    data = TalkingHeadFolder(folder, split="train", audio_file=audio_file, progress=False)
    assert tuple(data.audio_features.shape[1:]) == (int(binding["ERNeRF.audio_in_dim"]), 2)


def test_train_refuses_an_extractor_that_did_not_make_the_features(folder, tmp_path, capsys):
    code = main([
        "train", "--config", "configs/er_nerf.gin", "--data", str(folder),
        "--workspace", str(tmp_path / "ws"), "--quiet", "--audio-extractor", "deepspeech",
        "--bind", "TalkingHeadFolder.audio_file = 'aud_eo.npy'",
    ])  # fmt: skip
    assert code == 2
    out = capsys.readouterr().out
    assert out.startswith("error: ") and "cannot come from the deepspeech extractor" in out


def test_a_wav_without_a_known_extractor_is_refused(tmp_path):
    from lokitalk_plugins.train.render_clip import clip_features

    with pytest.raises(ExtractorError, match="TensorFlow 1.x"):
        clip_features(None, audio_wav="talk.wav", featurizer="deepspeech")
    with pytest.raises(ExtractorError, match="does not record which extractor"):
        clip_features(None, audio_wav="talk.wav", featurizer=None)
