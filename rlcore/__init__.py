"""rlcore: RLHF and RLAIF for language models, one readable stage at a time (see README.md)."""

import logging

# transformers >= 5.25 imports Hugging Face `kernels`, which warns on every import in offline mode
# (HF_HUB_OFFLINE=1: Binder, CI, the tiny track) that it skips a trust check for attention kernels rlcore
# never loads. Its warnings would bury the course's own one-line errors and clutter every notebook.
logging.getLogger("kernels").setLevel(logging.ERROR)
