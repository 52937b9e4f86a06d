"""Attribute suggestions from a trained attribute-recognition head (``paenet-predict``):
running the head over a dataset's images (:mod:`.predict`), pooling the logits per identity
and per camera (:mod:`.pooling`) and calibrating them per attribute (:mod:`.calibration`).
Writing them into the annotation store is the annotator's side
(``annotator/cli_predict.py``)."""
