"""`python -m cli` runs the console script (used to start child processes of ours)."""

from cli import main

main()
