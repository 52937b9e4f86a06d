"""``python -m paenet.train`` / ``torchrun -m paenet.train``: the ``paenet-train`` command."""

from paenet.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
