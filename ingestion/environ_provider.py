"""dlt's environment-variable config provider, with its secret test answered once per type hint.

dlt resolves its configuration anew on every run: some 4,000 environment look-ups for one
product-database load, most of them through `destination.capabilities()`. For each look-up its
`EnvironProvider` first asks `is_secret_hint(hint)`, which unwraps the hint through a dozen
`typing` calls; a secret hint then also tries a `/run/secrets/<name>` file. The answer depends
on the hint alone, yet was worked out again every time: about a third of a run that had nothing
to load (no-op product-database runs on a 20k-lead world went from about 0.33 s to 0.22 s).

This provider keeps dlt's own behaviour (a secret hint still goes through dlt's lookup,
`/run/secrets` included; everything else reads the environment under the same key) and only
remembers which hints are secret. It takes the built-in provider's place by name, so the order
of providers and every other setting stay dlt's.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from dlt.common.configuration.container import Container
from dlt.common.configuration.providers import EnvironProvider
from dlt.common.configuration.specs.base_configuration import is_secret_hint
from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext


@functools.lru_cache(maxsize=4096)
def _cached_is_secret(hint: Any) -> bool:
    return is_secret_hint(hint)


def hint_is_secret(hint: Any) -> bool:
    """`is_secret_hint`, remembered per hint; a hint that cannot be a dict key is asked each time."""
    try:
        return _cached_is_secret(hint)
    except TypeError:
        return is_secret_hint(hint)


class RememberingEnvironProvider(EnvironProvider):
    def get_value(self, key: str, hint: Any, pipeline_name: str, *sections: str) -> tuple[Any, str]:
        if hint_is_secret(hint):
            return super().get_value(key, hint, pipeline_name, *sections)
        name = self.get_key_name(key, pipeline_name, *sections)
        return os.environ.get(name), name


def install() -> None:
    """Puts the provider in the place of dlt's, in the current run context; a no-op once there.

    Called before each pipeline is made, because dlt builds a fresh provider list whenever its
    run context is reloaded."""
    providers = Container()[PluggableRunContext].providers
    name = EnvironProvider().name
    if not isinstance(providers[name], RememberingEnvironProvider):
        providers[name] = RememberingEnvironProvider()
