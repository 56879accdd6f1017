"""mpt_nb: Multitask Prompt Tuning (Wang et al., ICLR 2023), small enough to read, tested enough to trust.

One module per concept: ``prompts`` (soft and decomposed prompts, parameter formulas), ``prompted`` (where the prompt
meets the frozen model), ``backbones`` (loading models), ``tasks`` and ``metrics`` (the task registry), ``data``
(tokenisation, k-shot, multitask batches), ``losses`` (every loss), ``distill`` (the teachers' output cache),
``methods`` (the method table), ``sources`` (source stages keyed by their settings), ``train`` (the one loop),
``evaluate``, ``pipeline`` (the stages end to end), ``results`` (records, statistics, tables, the grid plan), ``viz``
(figures), ``paper`` (the paper's numbers), ``profiles`` (the one switch and its sizings), ``checkpoint``, ``files``,
``progress`` and ``peft_interop``.
"""

__version__ = "0.1.0"
