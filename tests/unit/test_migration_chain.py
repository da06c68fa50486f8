"""The migrations form one linear chain that builds exactly the models' schema.

Several changes land in parallel; two migrations off the same parent would leave two heads and
`scenematch migrate` would refuse to run, so the chain is checked on every run.
"""

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from backend.kit.migrate import alembic_config


def test_one_head_and_no_model_drift(tmp_path: Path) -> None:
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'chain.db'}")
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, script.get_heads()
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrated schema differ
    command.downgrade(config, "base")
