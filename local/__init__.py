"""The local runtime: the whole stack of template.yaml in one process, on moto, without Docker."""
