"""`python -m engine` runs the same Typer app as the `engine` console script."""

from cli import main

if __name__ == "__main__":
    main()
