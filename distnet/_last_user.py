"""The one "last user of each variable" rule, shared by both backward engines.

A variable's gradient is final once the last backward step that adds to it has run. The
autograd tape (distnet/autograd.py) and the graph plan (distnet/symbol/plan.py) both ask
this helper which step that is, and call the gradient hooks there.
"""

__all__ = ["last_users"]


def last_users(steps, key=None):
    """``{step index: [variables whose last user is that step]}``.

    ``steps`` lists, in the order backward runs them, the variables each step adds
    gradient to; ``key`` maps a variable to a hashable identity (default: the variable
    itself). Within a step, variables keep their input order.
    """
    seen = set()
    final_at = {}
    for k in range(len(steps) - 1, -1, -1):  # the last user is met first
        for var in steps[k]:
            ident = var if key is None else key(var)
            if ident not in seen:
                seen.add(ident)
                final_at.setdefault(k, []).append(var)
    return final_at
