# The DPRL package's tests, one file a module like tests/ beside the Python package:
# `julia --project=ENV julia/test/runtests.jl`, or from Python (tests/test_julia.py) included into a
# fresh module. Everything sits in one "DPRL" testset, which throws at its end when a test fails.
using Test
using DPRL
using DPRL: Config, Trebuchet, CartPole, Pendulum, Policies, Train
using ForwardDiff
using Zygote
using Random

@testset "DPRL" begin
    Random.seed!(2019)  # the global stream (Flux's default initialisation draws from it): every draw seeded
    include("trebuchet.jl")
    include("cartpole.jl")
    include("pendulum.jl")
    include("policies.jl")
    include("config.jl")
    include("train/trebuchet.jl")
    include("train/cartpole.jl")
    include("train/pendulum.jl")
    include("bridge.jl")
    include("batched.jl")
end
