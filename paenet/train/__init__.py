"""Training PAENet from a manifest: configuration, sampler, transforms, loop, checkpoints.

``python -m paenet.train`` (also under ``torchrun``) is ``paenet-train``
(:mod:`paenet.cli.train`).
"""
