"""Whether a Vosk model is configured, and what its Kaldi config files say: the sample rate and
the decoder's frame length."""

from __future__ import annotations

import re
from pathlib import Path

from ...config import Settings
from ..greeting.gate import MISSING_MODEL_PREFIX, NO_MODEL_REASON

DEFAULT_SAMPLE_RATE = 16000
"""Kaldi's default ``--sample-frequency`` when the model's mfcc.conf does not set one."""
MFCC_CONF = Path("conf") / "mfcc.conf"
MODEL_CONF = Path("conf") / "model.conf"
DEFAULT_FRAME_SHIFT_MS = 10.0
"""Kaldi's default ``--frame-shift`` of the features."""


def model_problem(settings: Settings) -> str | None:
    """Why recognition cannot run with this config, or None if a model is there to load."""
    path = settings.speech.model_path
    if not path:
        return NO_MODEL_REASON
    if not (Path(path) / "conf").is_dir() and not (Path(path) / "am").is_dir():
        return f"{MISSING_MODEL_PREFIX}{path}"
    return None


def model_sample_rate(model_path: Path) -> int:
    """The rate the model expects, from its ``conf/mfcc.conf`` (Kaldi's default 16000 if unset)."""
    found = _conf_number(model_path / MFCC_CONF, "sample-frequency")
    return DEFAULT_SAMPLE_RATE if found is None else int(found)


def model_frame_s(model_path: Path) -> float:
    """Seconds per decoder frame: the features' frame shift times the frame subsampling factor.

    Audio cut on this grid is decoded at the frames it would get in the whole window.
    """
    shift_ms = _conf_number(model_path / MFCC_CONF, "frame-shift") or DEFAULT_FRAME_SHIFT_MS
    factor = _conf_number(model_path / MODEL_CONF, "frame-subsampling-factor") or 1.0
    return shift_ms * factor / 1000


def _conf_number(conf: Path, option: str) -> float | None:
    """The last value of ``--option=number`` in a Kaldi config file, or None if unset."""
    try:
        text = conf.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    pattern = rf"^\s*--{re.escape(option)}\s*=\s*([0-9.]+)\s*$"
    found = re.findall(pattern, text, re.MULTILINE)
    return float(found[-1]) if found else None
