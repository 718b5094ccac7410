"""What the proxy (``masker``), the NER service (``masker_ner``) and the operator
(``masker_operator``) share, so that none of them imports another (import-linter checks it):

    ner        ``NerSpan``, the unit the NER model reports
    ner_wire   the ``masker.ner.v1`` gRPC wire format (proto in ``proto/``; generated modules in
               ``_proto/``, a build product) and its conversion to ``NerSpan``
    heap       start-up heap freezing, for every long-running server process

Nothing here imports any of the three packages.
"""
