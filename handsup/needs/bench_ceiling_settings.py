"""The production settings with the ceiling page's URLs (`bench_ceiling`): what the
ceiling server of `handsup bench web` runs with, and nothing else."""

from handsup.settings import *  # noqa: F403 (the production settings, whole)

ROOT_URLCONF = "handsup.needs.bench_ceiling"
