"""
    DPRL

"Differentiable Programming vs Reinforcement Learning" (Flux blog, 2019) with today's Flux and
Zygote: the trebuchet, CartPole and Pendulum as pure functions, the policies, the
differentiable-programming trainers and their settings (`Config`). Mirrored file for file by the
Python package `dprl` (`julia/src/trebuchet.jl` ↔ `pyside/dprl/envs/trebuchet.py`).
"""
module DPRL

include("config.jl")
include("trebuchet.jl")
include("cartpole.jl")
include("pendulum.jl")
include("policies.jl")
include("train.jl")
include("bridge.jl")
include("batched.jl")
include("modules.jl")
include("gradcheck.jl")

using .Trebuchet: shoot, shoot_gradient
export Config, Trebuchet, CartPole, Pendulum, Policies, Train, Batched, Modules, shoot, shoot_gradient

import Flux, Zygote, ForwardDiff

"""Versions of Julia and of the packages DPRL runs on, for recordings and `dprl julia-info`."""
function versions()
    version_of(m) = string(pkgversion(m))
    return Dict(
        "julia" => string(VERSION),
        "DPRL" => version_of(DPRL),
        "Flux" => version_of(Flux),
        "Zygote" => version_of(Zygote),
        "ForwardDiff" => version_of(ForwardDiff),
    )
end

end # module
