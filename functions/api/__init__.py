"""One module per API action; template.yaml routes each action to its own Lambda."""
