"""mpt_nb: Multitask Prompt Tuning (Wang et al., ICLR 2023), small enough to read, tested enough to trust.

One module per concept: ``prompts`` (soft and decomposed prompts), ``backbones`` (frozen models and the prompted
wrapper), ``tasks`` and ``metrics`` (the task registry), ``data`` (tokenisation, k-shot, multitask batches),
``distill`` (teacher cache and student loss), ``train`` (the one loop), ``evaluate``, ``checkpoint``,
``peft_interop``, ``profiles`` (the one switch), ``pipeline`` (the stages end to end) and ``viz``.
"""

__version__ = "0.1.0"
