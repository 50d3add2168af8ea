"""`python -m app.cli …` is `karma …`."""

from app.cli import main

main()
