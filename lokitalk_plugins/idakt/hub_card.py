"""The model card (README.md) of an ID-AKT Hub bundle: YAML front matter plus a short body."""

from __future__ import annotations

from collections.abc import Mapping

from huggingface_hub import ModelCardData

from lokitalk_plugins.idakt.hub_cache import HubBundleError

__all__ = ["CARD_TAGS", "LIBRARY_NAME", "REPO_PLACEHOLDER", "render_card"]

LIBRARY_NAME = "lokitalk-plugins"
CARD_TAGS = ("talking-head", "nerf", "lokitalk", "id-akt")
# stands for the repo id in the card body until push_to_hub (or card["repo_id"]) names it
REPO_PLACEHOLDER = "<org>/<name>"


def _front_matter(facts: Mapping) -> str:
    """YAML metadata the Hub reads: library_name, tags (ours first) and the training facts."""
    extra = dict(facts)
    extra.pop("title", None)
    extra.pop("repo_id", None)
    if "library_name" in extra:
        raise HubBundleError(
            f"card sets library_name={extra['library_name']!r}, but a bundle's card always has "
            f"library_name: {LIBRARY_NAME}; remove it from card."
        )
    tags = list(CARD_TAGS)
    more = extra.pop("tags", []) or []
    tags += [t for t in ([more] if isinstance(more, str) else more) if t not in tags]
    data = ModelCardData(library_name=LIBRARY_NAME, tags=tags, **extra)
    return data.to_yaml()


def render_card(
    facts: Mapping,
    summary: Mapping[str, tuple[int, int]],
    config: Mapping,
) -> str:
    """README.md text of a bundle.

    facts: training facts for the front matter (e.g. identities, steps, backbone); the optional
        keys ``title`` and ``repo_id`` only shape the body.
    summary: component name -> (number of tensors, number of values).
    config: the inner bundle config (its top-level keys are listed in the body).
    """
    title = str(facts.get("title") or "LokiTalk ID-AKT bundle")
    target = str(facts.get("repo_id") or REPO_PLACEHOLDER)
    rows = "\n".join(f"| `{n}` | {t} | {v:,} |" for n, (t, v) in sorted(summary.items()))
    shown = {k: v for k, v in facts.items() if k not in ("title", "repo_id", "tags")}
    fact_rows = "\n".join(f"| {k} | {v} |" for k, v in shown.items()) or "| (none given) | |"
    keys = ", ".join(f"`{k}`" for k in config) or "(empty)"
    first = sorted(summary)[0]
    return f"""---
{_front_matter(facts)}
---

# {title}

Pre-trained weights for LokiTalk's ID-Aware Knowledge Transfer (ID-AKT), packed as a
`lokitalk-idakt` bundle by [lokitalk-plugins](https://github.com/lokitalk/lokitalk-plugins).

## Contents

| component | tensors | values |
|---|---|---|
{rows}

`config.json` holds the bundle format and version and the config (keys: {keys}).

## Training facts

| fact | value |
|---|---|
{fact_rows}

## How to load

```python
from lokitalk_plugins.idakt.hub import from_pretrained

bundle = from_pretrained("{target}")  # or the path of a local bundle folder
print(bundle.config)  # constructor kwargs of each component, backbone name, ...
bundle.load_into("{first}", module)  # module built from bundle.config
```

Offline: download once with `hf download {target}` (older huggingface_hub:
`huggingface-cli download {target}`), then set `HF_HUB_OFFLINE=1`.
"""
