"""pixi-htc: compile one project.yaml into a pixi workspace, container image, CI and HTCondor jobs."""

__version__ = "0.1.0"  # pyproject.toml says the same (tests/test_packaging.py); the default ci.pixi_htc pins it
