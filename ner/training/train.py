"""Train Masker's PHI name model (``masker_phi_ner``) from ``generate.py``'s synthetic examples.

Reproducible: fixed seeds for the data (train and dev are different seeds of the generator) and for
spaCy (``config.cfg``), a fixed number of update steps (not a time limit), and matrix products on
one OpenBLAS thread (the ops the model also runs with in ``masker_ner.model``). The shipped model
is the transition-based NER of ``config.cfg``; ``--head tagger`` trains the BILUO tagger of
``config_tagger.cfg`` (2,000 steps) instead. On the shared 2-core development machine either takes
~10-20 minutes under ``nice``, depending on the load.

    nice -n 10 timeout 3600 python ner/training/train.py --install

writes the model to ``ner/masker_ner/models/masker_phi_ner`` (``--out`` elsewhere). Only what
inference needs is kept: the vocabulary's string table (every training word) is emptied, since the
model reads hashed features, not strings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGED = ROOT / "ner" / "masker_ner" / "models" / "masker_phi_ner"
MODEL_NAME = "masker_phi_ner"
VERSION = "1.0.0"
TRAIN_SEED, DEV_SEED = 1, 2


def _docbin(examples: Sequence[object], path: Path, *, tags: bool = False) -> tuple[int, int]:
    """Examples to a spaCy DocBin; returns (docs, spans dropped for not matching token bounds).
    ``tags``: each token's tag is also its BILUO entity tag ("B-PERSON", "O"), what the tagger head
    learns."""
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import biluo_tags_to_spans, offsets_to_biluo_tags

    nlp = spacy.blank("en")
    db = DocBin(store_user_data=False)
    dropped = 0
    for ex in examples:
        doc = nlp.make_doc(ex.text)  # type: ignore[attr-defined]
        ents = []
        for start, end, label in ex.spans:  # type: ignore[attr-defined]
            span = doc.char_span(start, end, label=label, alignment_mode="contract")
            if span is None or not span.text.strip():
                dropped += 1
                continue
            ents.append(span)
        try:
            doc.ents = spacy.util.filter_spans(ents)
        except ValueError:
            dropped += len(ents)
            continue
        if tags:
            biluo = offsets_to_biluo_tags(doc, [(e.start_char, e.end_char, e.label_) for e in doc.ents])
            assert [(e.start, e.end, e.label_) for e in biluo_tags_to_spans(doc, biluo)] == [
                (e.start, e.end, e.label_) for e in doc.ents
            ]
            for token, tag in zip(doc, biluo, strict=True):
                token.tag_ = tag
        db.add(doc)
    db.to_disk(path)
    return len(db), dropped


def _strip_strings(model_dir: Path) -> None:
    """Drop the training vocabulary: the NER model hashes NORM/PREFIX/SUFFIX/SHAPE and never looks a
    string up, and the table would hold every synthetic name it was trained on. The config's data
    paths (a temporary directory) are cleared, so two runs write identical files."""
    strings = model_dir / "vocab" / "strings.json"
    strings.write_text("[]", encoding="utf-8")
    config = model_dir / "config.cfg"
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    cleared = [
        f"{line.split('=')[0].rstrip()} = null\n" if line.startswith(("train = ", "dev = ")) else line
        for line in lines
    ]
    config.write_text("".join(cleared), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n-train", type=int, default=40_000)
    ap.add_argument("--n-dev", type=int, default=2_000)
    ap.add_argument("--max-steps", type=int, default=None, help="override [training] max_steps")
    ap.add_argument("--out", type=Path, default=None, help="model directory (default: a temp dir)")
    ap.add_argument("--install", action="store_true", help=f"write the model to {PACKAGED}")
    ap.add_argument(
        "--head",
        choices=("parser", "tagger"),
        default="parser",
        help="parser: spaCy's transition-based NER (config.cfg, the shipped model); tagger: BILUO "
        "tags, one softmax per token (config_tagger.cfg; docs/detection.md, 'A cheaper head')",
    )
    ap.add_argument("--config", type=Path, default=None, help="training config (default: by --head)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. components.ner.model.use_upper=false (JSON values)",
    )
    args = ap.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from generate import generate  # the sibling module: this directory is not a package

    from masker_ner.model import _single_threaded_blas

    _single_threaded_blas()  # before any model is built: they keep the ops current at creation
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train as train_nlp
    from spacy.util import load_config

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="masker-ner-train-") as tmp:
        work = Path(tmp)
        tags = args.head == "tagger"
        n_train, d_train = _docbin(generate(TRAIN_SEED, args.n_train), work / "train.spacy", tags=tags)
        n_dev, d_dev = _docbin(generate(DEV_SEED, args.n_dev), work / "dev.spacy", tags=tags)
        print(f"data: {n_train} train docs ({d_train} spans dropped), {n_dev} dev docs ({d_dev})", flush=True)
        overrides: dict[str, object] = {
            "paths.train": str(work / "train.spacy"),
            "paths.dev": str(work / "dev.spacy"),
        }
        if args.max_steps is not None:
            overrides["training.max_steps"] = args.max_steps
        for item in args.set:
            key, _, value = item.partition("=")
            overrides[key] = json.loads(value)
        config_path = args.config or HERE / ("config_tagger.cfg" if tags else "config.cfg")
        config = load_config(config_path, overrides=overrides, interpolate=False)
        nlp = init_nlp(config, use_gpu=-1)
        nlp.meta.update(
            {
                "name": MODEL_NAME.removeprefix("en_"),
                "version": VERSION,
                "description": "Masker PHI NER (PERSON, GPE, FAC, ORG), trained on synthetic text only",
                "license": "Apache-2.0",
            }
        )
        (work / "output").mkdir()
        train_nlp(nlp, work / "output", use_gpu=-1, stdout=sys.stdout, stderr=sys.stderr)
        model_dir = work / "output" / "model-last"
        _strip_strings(model_dir)
        target = PACKAGED if args.install else args.out
        if target is not None:
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(model_dir, target)
            print(f"model written to {target}")
    meta = {"train_docs": n_train, "dev_docs": n_dev, "minutes": round((time.monotonic() - started) / 60, 1)}
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
