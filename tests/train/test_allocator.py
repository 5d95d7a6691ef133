"""lokitalk_plugins.train.allocator: the environment to start a process with (the user's own
values win) and the name of the settings a process runs with."""

import subprocess
import sys

from lokitalk_plugins.train.allocator import (
    ALLOCATOR_ENV,
    MALLOPT,
    allocator_env,
    allocator_state,
    tune_malloc,
)


def test_allocator_env_adds_what_is_unset_and_keeps_the_users_values():
    env = allocator_env({"PATH": "/bin", "MALLOC_TOP_PAD_": "123"})
    assert env["PATH"] == "/bin" and env["MALLOC_TOP_PAD_"] == "123"
    for key, value in ALLOCATOR_ENV.items():
        if key != "MALLOC_TOP_PAD_":
            assert env[key] == value
    assert env["THP_MEM_ALLOC_ENABLE"] == "1" and int(env["MALLOC_TRIM_THRESHOLD_"]) >= 1 << 30
    assert all(int(ALLOCATOR_ENV[k]) < 1 << 31 for k in MALLOPT)  # mallopt takes an int


def test_allocator_state_names_the_settings():
    assert allocator_state({}) == "default"
    assert allocator_state(allocator_env({})) == "tuned"
    assert allocator_state({"THP_MEM_ALLOC_ENABLE": "1"}) == "partial: THP_MEM_ALLOC_ENABLE=1"


def test_a_process_started_with_the_settings_runs_torch_and_reports_them():
    code = ("import torch; from lokitalk_plugins.train.allocator import allocator_state; "
            "x = torch.ones(1 << 22); assert float(x.sum()) == 4194304.0; "
            "print(allocator_state())")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=allocator_env(), check=True,
                         capture_output=True, text=True)  # fmt: skip
    assert out.stdout.strip() == "tuned"


def test_tune_malloc_sets_what_the_environment_does_not_and_the_state_says_so():
    code = (
        "import os, sys; os.environ['MALLOC_TOP_PAD_'] = '1'; "
        "from lokitalk_plugins.train.allocator import allocator_state, tune_malloc; "
        "done = tune_malloc(); import torch; x = torch.ones(1 << 22); "
        "assert float(x.sum()) == 4194304.0; print(sorted(done)); print(allocator_state())"
    )
    env = {k: v for k, v in allocator_env().items() if k not in ALLOCATOR_ENV}
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True, text=True)  # fmt: skip
    names, state = out.stdout.strip().splitlines()
    if sys.platform.startswith("linux") and names != "[]":  # glibc: the two not given
        assert names == "['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']"
        assert state.startswith("partial: MALLOC_TOP_PAD_=1")
    assert tune_malloc(allocator_env({})) == {}  # everything given: nothing to set
