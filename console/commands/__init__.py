"""The `booth` command's sub-commands (the entry point is `console.cli`): each module
registers its parsers and renders results; the work is done by the layers below."""
