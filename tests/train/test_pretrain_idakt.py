"""ID-AKT pre-training on real (tiny) studio identities: one process lowers the loss and writes
a bundle a fine-tune run starts from; two processes (gloo) shard the identities and end with
identical weights."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from pretrain_worker import BINDINGS, CONFIGS

from lokitalk_plugins.commands.pretrain import build_pretraining
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.train.pretrain_loop import pretrain

WORKER = Path(__file__).with_name("pretrain_worker.py")


@pytest.fixture(scope="module")
def identities(tmp_path_factory):
    root = tmp_path_factory.mktemp("ids")
    return [str(write_identity(root / f"id{i}", identity=i, seconds=1.0, size=32))
            for i in (1, 2)]  # fmt: skip


def test_pretraining_lowers_the_loss_and_fine_tuning_starts_from_the_bundle(identities, tmp_path):
    from lokitalk_plugins.adapters import save_identity_bundle
    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.train import load_checkpoint, train_from_config

    torch.manual_seed(0)
    multi = build_pretraining(CONFIGS, BINDINGS, identities)
    encoder_before = multi.model.idakt.encoder.blocks[0].weight.detach().clone()
    out = pretrain(multi, [0, 1], 60, seed=0, out_dir=tmp_path / "pre", progress=False)
    losses = out["losses"]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    assert set(out["identities"]) == {0, 1}
    assert not torch.equal(multi.model.idakt.encoder.blocks[0].weight, encoder_before)
    bundle = save_identity_bundle(multi.model, tmp_path / "bundle", card={"identities": 2})

    binds = BINDINGS[:4] + ["RSDF.id_dim = 16", f"wrap.pretrained = '{bundle}'",
                            "head/Trainer.steps = 4", "Trainer.val_every = 100",
                            "train.stages = ('head',)"]  # fmt: skip
    binds = [b for b in binds if not b.startswith("wrap.idakt")]
    from lokitalk_plugins.commands.workspace import write_run

    # the paper's fine-tune rates, and the short-run ones (the backbone's, er_nerf.gin)
    want = {
        "idakt_finetune.gin": {"grid": 1e-3, "mlp": 1e-4, "audio_att": 1e-4,
                               "id_embeddings": 1e-3, "idakt": 1e-4},
        "idakt_finetune_short.gin": {"grid": 1e-2, "mlp": 1e-3, "audio_att": 5e-3,
                                     "id_embeddings": 1e-3, "idakt": 1e-4},
    }  # fmt: skip
    for name, lrs in want.items():
        finetune = CONFIGS[:2] + [f"configs/{name}"]
        ws = tmp_path / name
        write_run(ws, Path(identities[0]), finetune, binds, "aud.npy")
        train_from_config(finetune, binds, data=identities[0], workspace=str(ws), progress=False)
        state = load_checkpoint(ws / "checkpoints" / "latest.pt")
        assert bool(state["model"]["model.identity_ready"])
        groups = state["optimizer"]["param_groups"]
        assert {g["name"]: pytest.approx(g["initial_lr"]) for g in groups} == lrs, name
        system, _, _ = load_system(ws)
        assert type(system.model.idakt).__name__ == "FrozenIdentity"
        assert (
            float(system.model.idakt.appearance.detach().abs().sum()) > 0
        )  # from the encoder, not zeros


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_shard_identities_and_agree(identities, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), str(WORKER), "--out", str(tmp_path),
           "--data", *identities, "--steps", "24"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["shard"] == [0] and r1["shard"] == [1]
    params = {n for n, _ in build_pretraining(CONFIGS, BINDINGS, identities).named_parameters()}
    for name in params:
        assert torch.equal(r0["final"][name], r1["final"][name]), name
    for r in (r0, r1):
        assert sum(r["losses"][-6:]) / 6 < sum(r["losses"][:6]) / 6
    assert (tmp_path / "bundle" / "model.safetensors").is_file()
    assert not (tmp_path / "run1").exists()


ER_NERF_IDAKT = ["configs/er_nerf_idakt.gin", "configs/studio_quick.gin"]


def test_pretraining_the_whole_idakt_on_the_bare_er_nerf_trains_its_dynamic_half(
    identities, tmp_path
):
    """Table 4's pre-training (er_nerf_idakt.gin): the loss falls, the dynamic half (F_id input
    columns, hyper-networks of the region attention) moves from zero and the bundle holds it."""
    import json

    from safetensors.torch import load_file

    from lokitalk_plugins.adapters import save_identity_bundle

    binds = BINDINGS[:2] + [BINDINGS[-1]]
    torch.manual_seed(0)
    multi = build_pretraining(ER_NERF_IDAKT, binds, identities)
    idakt = multi.model.idakt
    assert multi.model.rsdf is None and set(idakt.hyper) == {"aud_ch_att_net", "eye_att_net"}
    out = pretrain(multi, [0, 1], 60, seed=0, out_dir=tmp_path / "pre", progress=False)
    losses = out["losses"]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10
    for n in ("aud_ch_att_net", "eye_att_net"):
        assert idakt.id_inputs[n].abs().sum() > 0  # F_id reached the region attention
        assert idakt.hyper[n].out.weight.abs().sum() > 0  # and the identity-specific part A f
    bundle = save_identity_bundle(multi.model, tmp_path / "bundle")
    config = json.loads((bundle / "config.json").read_text())["config"]
    assert config["idakt"]["id_inputs"] == {"aud_ch_att_net": 64, "eye_att_net": 16}
    keys = set(load_file(bundle / "model.safetensors"))
    assert {"idakt.id_inputs.aud_ch_att_net", "idakt.hyper.eye_att_net.out.weight"} <= keys
