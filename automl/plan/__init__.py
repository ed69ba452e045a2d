"""The plan: which SMAC facade a run uses, what its budget means, and why."""

from automl.plan.plan import Plan, plan_offline

__all__ = ["Plan", "plan_offline"]
