"""pixi-htc: compile one project.yaml into a pixi workspace, container image, CI and HTCondor jobs."""

# The one place the version is written: pyproject.toml reads it (setuptools dynamic `attr`), the
# release workflow refuses a tag that differs, and the default ci.pixi_htc pins it (compiler/model.py).
__version__ = "0.1.0"
