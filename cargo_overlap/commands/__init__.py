"""One module per subcommand; each exposes ``register(subparsers)``.

A subcommand's parser sets ``func``: a callable taking the parsed namespace and returning
the process exit code.
"""
