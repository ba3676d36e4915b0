import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries are imported: the same one line as later
    print("astromask: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
