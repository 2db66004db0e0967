"""The command line `lendmatch`: one module per command or command group, each with its own
Typer app or command function, registered explicitly in `cli.main`.

A new command goes into the module of its group (or a new module registered in `cli.main`);
what several commands share (the store context, the rules option, printing rule problems)
lives in `cli.options`. Every default is resolved from the installed package, so each command
works from any directory.
"""
