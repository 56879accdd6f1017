"""Soft prompts: vanilla prompt tuning and the MPT decomposition P̂_i = P* ∘ (u_i v_i).

Both prompt kinds share one interface, ``prompt(task_ids) -> (batch, l, d)``, so a mixed batch gets each row its
own task's prompt and the rest of the package never needs to know which kind it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "MultitaskPrompt",
    "NoPrompt",
    "SoftPrompt",
    "check_task_ids",
    "count_trainable",
    "expected_trainable",
    "percent_of",
    "sample_vocab_embeddings",
    "text_init_embeddings",
]


def check_task_ids(task_ids: torch.Tensor, num_tasks: int) -> None:
    """A clear error for task ids a prompt of ``num_tasks`` tasks does not hold (or a batch that is not 1-D)."""
    if task_ids.dim() != 1:
        raise ValueError(f"task_ids must be 1-D (batch,), got shape {tuple(task_ids.shape)}")
    if task_ids.numel() and (int(task_ids.min()) < 0 or int(task_ids.max()) >= num_tasks):
        bad = task_ids[(task_ids < 0) | (task_ids >= num_tasks)].unique().tolist()
        raise IndexError(
            f"task ids {bad} are out of range: this prompt holds {num_tasks} task(s) (ids 0..{num_tasks - 1}); "
            "build the prompt with more tasks or map your task names to ids with the same task list"
        )


def sample_vocab_embeddings(
    embeddings: nn.Embedding, num_tokens: int, *, generator: torch.Generator | None = None, top_k: int = 5000
) -> torch.Tensor:
    """Rows of the model's input embeddings drawn from the first ``top_k`` ids (l, d).

    Lester et al. (2021) found sampled-vocabulary init beats random init; low ids are common tokens in BPE vocabularies.
    """
    vocab = embeddings.weight.shape[0]
    ids = torch.randint(0, min(top_k, vocab), (num_tokens,), generator=generator)
    return embeddings.weight[ids].detach().clone().float()


def text_init_embeddings(tokenizer, embeddings: nn.Embedding, text: str, num_tokens: int) -> torch.Tensor:
    """Embeddings of ``text``'s tokens, repeated or cut to exactly ``num_tokens`` rows (l, d)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if not ids:
        raise ValueError("init text tokenises to nothing; give a non-empty task description such as 'Classify the sentiment'")
    ids = (ids * (num_tokens // len(ids) + 1))[:num_tokens]
    return embeddings.weight[torch.tensor(ids)].detach().clone().float()


class SoftPrompt(nn.Module):
    """Vanilla prompt tuning: one free (l, d) prompt per task; ``forward(task_ids) -> (batch, l, d)``."""

    def __init__(self, num_tokens: int, dim: int, num_tasks: int = 1, init: torch.Tensor | None = None) -> None:
        super().__init__()
        if num_tokens < 1 or dim < 1 or num_tasks < 1:
            raise ValueError(f"need num_tokens, dim, num_tasks >= 1, got {num_tokens}, {dim}, {num_tasks}")
        weight = torch.empty(num_tasks, num_tokens, dim)
        if init is None:
            nn.init.normal_(weight, std=0.02)
        else:
            init = init.detach().float()
            if init.dim() == 2:
                init = init.unsqueeze(0).expand(num_tasks, -1, -1)
            if tuple(init.shape) != (num_tasks, num_tokens, dim):
                raise ValueError(
                    f"init has shape {tuple(init.shape)} but this prompt is (tasks={num_tasks}, l={num_tokens}, d={dim})"
                )
            weight.copy_(init)
        self.weight = nn.Parameter(weight)

    @property
    def num_tasks(self) -> int:
        return self.weight.shape[0]

    @property
    def num_tokens(self) -> int:
        return self.weight.shape[1]

    @property
    def dim(self) -> int:
        return self.weight.shape[2]

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        """Prompt rows for each example's task: (batch,) -> (batch, l, d)."""
        check_task_ids(task_ids, self.num_tasks)
        return self.weight[task_ids]

    def task_prompts(self) -> torch.Tensor:
        """Every task's prompt, (tasks, l, d)."""
        return self.weight

    @classmethod
    def from_vocab(
        cls, embeddings: nn.Embedding, num_tokens: int, num_tasks: int = 1, *, seed: int = 0
    ) -> SoftPrompt:
        """Each task's prompt initialised from sampled vocabulary embeddings."""
        generator = torch.Generator().manual_seed(seed)
        init = torch.stack([sample_vocab_embeddings(embeddings, num_tokens, generator=generator) for _ in range(num_tasks)])
        return cls(num_tokens, init.shape[-1], num_tasks, init=init)

    @classmethod
    def from_text(cls, tokenizer, embeddings: nn.Embedding, text: str, num_tokens: int) -> SoftPrompt:
        """One prompt initialised from the embeddings of a task description."""
        init = text_init_embeddings(tokenizer, embeddings, text, num_tokens)
        return cls(num_tokens, init.shape[-1], 1, init=init)

    @classmethod
    def from_prompts(cls, prompts: torch.Tensor | Sequence[torch.Tensor]) -> SoftPrompt:
        """A copy of given prompts, (l, d) or (tasks, l, d): SPoT's transfer init."""
        if not isinstance(prompts, torch.Tensor):
            prompts = torch.stack([p.detach() for p in prompts])
        if prompts.dim() == 2:
            prompts = prompts.unsqueeze(0)
        return cls(prompts.shape[1], prompts.shape[2], prompts.shape[0], init=prompts)


class NoPrompt(nn.Module):
    """The zero-shot baseline as a prompt: no soft tokens (l = 0), nothing to train; the frozen model reads the task's
    hand-written template alone. ``forward(task_ids) -> (batch, 0, d)``."""

    def __init__(self, dim: int, num_tasks: int = 1) -> None:
        super().__init__()
        if dim < 1 or num_tasks < 1:
            raise ValueError(f"need dim, num_tasks >= 1, got {dim}, {num_tasks}")
        self._dim, self._num_tasks = dim, num_tasks

    @property
    def num_tasks(self) -> int:
        return self._num_tasks

    @property
    def num_tokens(self) -> int:
        return 0

    @property
    def dim(self) -> int:
        return self._dim

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        check_task_ids(task_ids, self.num_tasks)
        return torch.zeros(task_ids.shape[0], 0, self.dim, device=task_ids.device)

    def task_prompts(self) -> torch.Tensor:
        return torch.zeros(self.num_tasks, 0, self.dim)


class MultitaskPrompt(nn.Module):
    """MPT's decomposed prompts: a shared P* (l, d) and per-task u (tasks, l, r), v (tasks, r, d).

    Task i's prompt is ``P* ∘ (u_i v_i)`` (Hadamard product with a rank-r matrix); with r = 1 this rescales every
    entry of P* by ``u_i[a] * v_i[b]``: a row scale times a column scale.
    """

    def __init__(
        self,
        num_tokens: int,
        dim: int,
        num_tasks: int = 1,
        rank: int = 1,
        *,
        shared_init: torch.Tensor | None = None,
        low_rank_init: str = "ones",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        self.shared = SoftPrompt(num_tokens, dim, 1, init=shared_init).weight  # reuse its shape checks
        self.u = nn.Parameter(torch.empty(num_tasks, num_tokens, rank))
        self.v = nn.Parameter(torch.empty(num_tasks, rank, dim))
        self.reset_low_rank(low_rank_init, seed=seed)

    def reset_low_rank(self, init: str = "ones", *, seed: int = 0) -> None:
        """Fresh u, v: "ones" makes every task start at P* (u v = 1; exact for r = 1); "normal" is PEFT's N(0, 0.02)."""
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            if init == "ones":
                rank = self.rank
                self.u.fill_(1.0 / rank**0.5)
                self.v.fill_(1.0 / rank**0.5)
            elif init == "normal":
                self.u.copy_(torch.randn(self.u.shape, generator=generator) * 0.02)
                self.v.copy_(torch.randn(self.v.shape, generator=generator) * 0.02)
            else:
                raise ValueError(f"unknown low_rank_init {init!r}; use 'ones' or 'normal'")

    @property
    def num_tasks(self) -> int:
        return self.u.shape[0]

    @property
    def num_tokens(self) -> int:
        return self.shared.shape[1]

    @property
    def dim(self) -> int:
        return self.shared.shape[2]

    @property
    def rank(self) -> int:
        return self.u.shape[2]

    def forward(self, task_ids: torch.Tensor) -> torch.Tensor:
        """Composed prompt per example: (batch,) -> (batch, l, d) = P* ∘ (u_i v_i)."""
        check_task_ids(task_ids, self.num_tasks)
        return self.shared * torch.bmm(self.u[task_ids], self.v[task_ids])

    def task_prompts(self) -> torch.Tensor:
        """Every task's composed prompt, (tasks, l, d)."""
        return self.shared * torch.bmm(self.u, self.v)

    @classmethod
    def from_teachers(
        cls, teacher_prompts: torch.Tensor, rank: int = 1, *, low_rank_init: str = "ones", seed: int = 0
    ) -> MultitaskPrompt:
        """Shared prompt initialised as the average of the teachers (tasks, l, d); one (u, v) per teacher."""
        num_tasks, num_tokens, dim = teacher_prompts.shape
        return cls(
            num_tokens,
            dim,
            num_tasks,
            rank,
            shared_init=teacher_prompts.detach().float().mean(0),
            low_rank_init=low_rank_init,
            seed=seed,
        )

    def for_new_tasks(
        self, num_tasks: int = 1, *, rank: int | None = None, low_rank_init: str = "ones", seed: int = 0
    ) -> MultitaskPrompt:
        """Target-adaptation init: a copy of this trained P* with fresh u, v for ``num_tasks`` new tasks.

        ``low_rank_init``: "ones" (each new task starts at P*), "normal" (PEFT's N(0, 0.02)) or "source_mean" (the
        mean of this prompt's per-task u and v: a new task starts where the source tasks are on average).
        """
        rank = rank or self.rank
        if low_rank_init == "source_mean" and rank != self.rank:
            raise ValueError(f"u, v from the source average need the source rank r={self.rank}, not r={rank}")
        prompt = MultitaskPrompt(
            self.num_tokens,
            self.dim,
            num_tasks,
            rank,
            shared_init=self.shared.detach()[0],
            low_rank_init="ones" if low_rank_init == "source_mean" else low_rank_init,
            seed=seed,
        )
        if low_rank_init == "source_mean":
            with torch.no_grad():
                prompt.u.copy_(self.u.detach().mean(0, keepdim=True).expand_as(prompt.u))
                prompt.v.copy_(self.v.detach().mean(0, keepdim=True).expand_as(prompt.v))
        return prompt


def count_trainable(module: nn.Module) -> int:
    """Number of parameters with ``requires_grad`` (counted once even if shared)."""
    seen: set[int] = set()
    total = 0
    for p in module.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def expected_trainable(method: str, num_tokens: int, dim: int, *, rank: int = 1, num_tasks: int = 1) -> int:
    """Trainable-parameter formula: PT l·d·S; MPT l·d + (l + d)·r·S; shared-only (no decomposition) l·d."""
    if method == "pt":
        return num_tokens * dim * num_tasks
    if method == "mpt":
        return num_tokens * dim + (num_tokens + dim) * rank * num_tasks
    if method == "shared":
        return num_tokens * dim
    raise ValueError(f"unknown method {method!r}; use 'pt', 'mpt' or 'shared'")


def percent_of(num_params: int, backbone: nn.Module) -> float:
    """``num_params`` as a percentage of all parameters of ``backbone``."""
    total = sum(p.numel() for p in backbone.parameters())
    return 100.0 * num_params / total
