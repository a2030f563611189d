"""The Vosk adapters: the recognizer (``recognizer``), its worker processes (``workers``) and
what a model's Kaldi config says (``model_conf``). Nothing loads a model at import time."""
