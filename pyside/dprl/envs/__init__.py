"""Pure, batched, differentiable environments: (params, state, action) -> (state, reward, done)."""
