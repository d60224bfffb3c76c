"""pixi-htc: compile one project.yaml into a pixi workspace, container image, CI and HTCondor jobs."""
