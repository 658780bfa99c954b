"""One module per CLI command.

Each module defines ``register(subparsers)``, which adds its subparser and sets defaults:

- ``handler(args, context) -> int``: runs the command with a CliContext (imports anything
  heavy inside the function: the module itself is imported on every TAB completion);
- ``settings_overrides(args) -> dict`` (optional): settings given as flags, for load_settings;
- ``needs_context=False`` (optional): the handler gets ``None`` and no settings are loaded;
- ``quick=True`` (optional): a light context (QuickSettings, standard-library adapters only)
  for commands that must answer at once; see decision 18.
"""
